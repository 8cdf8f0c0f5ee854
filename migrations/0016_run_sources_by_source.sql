-- The sources page reads each source's latest outcome, newest run first.
CREATE INDEX IF NOT EXISTS run_sources_source_run_id ON run_sources (source, run_id);
