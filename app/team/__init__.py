"""The Team page's parts: your account and tokens, project members and invitations, audit."""
