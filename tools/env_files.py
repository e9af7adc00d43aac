"""Create each missing ``.env`` from its ``.env.example``; never overwrite one.

The project-wide ``.env`` gets a fresh random ``JWT_SECRET_KEY`` and admin
password in place of the example's placeholders, so no two installs share a
secret and none runs with a published one.
"""

import secrets

from shop_common.settings import PROJECT_ROOT, SERVICES

PLACEHOLDERS = {
    "JWT_SECRET_KEY=change-me": lambda: f"JWT_SECRET_KEY={secrets.token_urlsafe(48)}",
    "ADMIN_PASSWORD=change-me": lambda: f"ADMIN_PASSWORD={secrets.token_urlsafe(12)}",
}


def create_missing_env_files():
    folders = [PROJECT_ROOT] + [PROJECT_ROOT / package for package, _, _ in SERVICES.values()]
    for folder in folders:
        env_file, example = folder / ".env", folder / ".env.example"
        if env_file.exists() or not example.exists():
            continue
        lines = [PLACEHOLDERS[line]() if line in PLACEHOLDERS else line for line in example.read_text().splitlines()]
        env_file.write_text("\n".join(lines) + "\n")
        env_file.chmod(0o600)
        print(f"created {env_file.relative_to(PROJECT_ROOT)} from its example")


if __name__ == "__main__":
    create_missing_env_files()
