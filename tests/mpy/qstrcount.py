# The names (qstrs) that modules intern on a bare interpreter, as on a device (tools/memory.py):
#   qstrcount.py MOD [MOD ..]      imports them, then prints micropython.qstr_info()
# (this script itself adds one name, `m`: with no module given it prints the interpreter's own count)
import sys

import micropython

for m in sys.argv[1:]:
    __import__(m)
micropython.qstr_info()
