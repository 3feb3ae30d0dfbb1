"""Project homes on the pages: where a project's curves live, and what to do when that place
cannot answer."""
