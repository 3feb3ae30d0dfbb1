"""Parts of the Projects page that are units of their own (the upload drop zone)."""
