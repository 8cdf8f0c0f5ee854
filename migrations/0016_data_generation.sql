-- A number every change to what the pages show of the state of the backups raises: the
-- account, the settings, the e-mail account, the sources, the checklist's checks and the
-- history (runs, their sources and objects). A page reads this one row to know whether
-- what it keeps of them is still true, whichever process changed them. A migration that
-- rebuilds one of these tables must create its triggers again.
CREATE TABLE data_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO data_generation (id, n) VALUES (1, 0);

CREATE TRIGGER data_generation_users_insert AFTER INSERT ON users BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_users_update AFTER UPDATE ON users BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_users_delete AFTER DELETE ON users BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_settings_insert AFTER INSERT ON settings BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_settings_update AFTER UPDATE ON settings BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_settings_delete AFTER DELETE ON settings BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_email_account_insert AFTER INSERT ON email_account BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_email_account_update AFTER UPDATE ON email_account BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_email_account_delete AFTER DELETE ON email_account BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_sources_insert AFTER INSERT ON sources BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_sources_update AFTER UPDATE ON sources BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_sources_delete AFTER DELETE ON sources BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_setup_checks_insert AFTER INSERT ON setup_checks BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_setup_checks_update AFTER UPDATE ON setup_checks BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_setup_checks_delete AFTER DELETE ON setup_checks BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_runs_insert AFTER INSERT ON runs BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
-- A running run's progress, written every few seconds, is not shown from here.
CREATE TRIGGER data_generation_runs_update AFTER UPDATE OF kind, trigger, status, started_at,
    finished_at, scheduled_for, folder, total_bytes, object_count, error, warning, request
    ON runs BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_runs_delete AFTER DELETE ON runs BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_run_sources_insert AFTER INSERT ON run_sources BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_run_sources_update AFTER UPDATE ON run_sources BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_run_sources_delete AFTER DELETE ON run_sources BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_run_objects_insert AFTER INSERT ON run_objects BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_run_objects_update AFTER UPDATE ON run_objects BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER data_generation_run_objects_delete AFTER DELETE ON run_objects BEGIN
    UPDATE data_generation SET n = n + 1 WHERE id = 1;
END;
