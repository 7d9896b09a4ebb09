# ota: signed application updates: Ed25519 verification (ed25519.py, sha512.py), the signed
# manifest, streamed delivery to a staging directory and the A/B switch. Loaded only during an update.
