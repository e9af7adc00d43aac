-- The user's session epoch: raised by every change that ends all their access tokens
-- (a role change, logout-all, a deletion's record); access tokens carry the epoch they
-- were issued in, and the revocation check refuses an older one (user_service/sessions.py).
ALTER TABLE users ADD COLUMN IF NOT EXISTS session_epoch INT UNSIGNED NOT NULL DEFAULT 0;
