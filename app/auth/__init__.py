"""Who is using the app: browser sign-in, the first owner, the cookie secret."""
