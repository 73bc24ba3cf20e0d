"""Migration steps every service's history runs. Each module is frozen once released: a change
to the messaging tables is a new module (messaging_v2), called from a new revision."""
