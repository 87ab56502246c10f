"""Administration: mqadmin's commands in Python (``python -m rmqlite admin``) and the admin client."""
