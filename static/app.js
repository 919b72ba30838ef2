// The playground script; the full page lands shortly.
