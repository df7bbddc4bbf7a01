// Anchor so that a layer library is never empty while its folder is being filled.
