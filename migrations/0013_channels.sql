-- Notification channels beside e-mail: webhooks, Slack, Discord, ntfy, health-check pings.
-- What holds a token (the URL of most webhooks, an ntfy token, the signing secret) is kept
-- sealed with the master key; the list shows only `url_shown` (scheme and host).
CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'discord', 'ntfy', 'ping')),
    url_shown     TEXT NOT NULL,
    url_sealed    BLOB,
    token_sealed  BLOB,
    secret_sealed BLOB,
    -- The events the channel is sent, comma-separated (see `ChannelEvent`).
    events        TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- One delivery per (run, channel, event), so each channel gets its own and adding one
-- never silences another. A channel removed keeps its deliveries on the run's page.
CREATE TABLE channel_deliveries (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    channel_id   INTEGER REFERENCES channels (id) ON DELETE SET NULL,
    channel_name TEXT NOT NULL,
    channel_kind TEXT NOT NULL,
    event        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    sent_at      TEXT,
    created_at   TEXT NOT NULL,
    finished_at  TEXT,
    UNIQUE (run_id, channel_id, event)
);
CREATE INDEX channel_deliveries_run ON channel_deliveries (run_id);

-- Each attempt of a delivery and what came of it (a stored message).
CREATE TABLE channel_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES channel_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    ok          INTEGER NOT NULL
);
CREATE INDEX channel_attempts_delivery ON channel_attempts (delivery_id);
