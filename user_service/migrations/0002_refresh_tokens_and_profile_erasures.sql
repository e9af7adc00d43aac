-- Sessions and account deletion (issue 14): refresh tokens kept as hashes, and the outbox of
-- deleted users whose customer profile is still to be erased. New tables: no existing row changes.

CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    family CHAR(32) CHARACTER SET ascii NOT NULL,
    user_id INT UNSIGNED NOT NULL,
    user_agent VARCHAR(255) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at DATETIME NOT NULL,
    spent_at DATETIME NULL,
    revoked_at DATETIME NULL,
    KEY ix_refresh_tokens_family (family),
    KEY ix_refresh_tokens_user (user_id, revoked_at),
    KEY ix_refresh_tokens_expires (expires_at),
    CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS profile_erasures (
    user_id INT UNSIGNED NOT NULL PRIMARY KEY,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    last_error VARCHAR(255) NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;
