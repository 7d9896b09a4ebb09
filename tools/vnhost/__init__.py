# Host-side code the command-line tools share (CPython only, never on a node):
#   pki        the fleet's CA, certificates, CRL, inventory, Mosquitto ACL and config
#   nodefiles  a node's rendered filesystem (config, secrets, identity, certificates, label)
# tools/fleet.py and tools/provision.py are command lines over these; neither imports the other.
