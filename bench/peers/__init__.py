"""Code that runs inside the peers' own virtual environment (bench/.peers/venv), never ours."""
