// Empty on purpose: lets lookup.go declare functions without bodies (their bodies come via //go:linkname).
