# ota: signed application updates: Ed25519 verification (ed25519.py, sha512.py), the signed
# manifest, streamed delivery to a staging directory and the A/B switch. Loaded only during an update.

# the update's working directory on the node's filesystem (state, manifest, signature); not an
# importable name, or it would shadow this package ('' comes first on sys.path)
WORK = ".ota"
