-- Settings changed from the dashboard, over the environment's: variable name -> value.
CREATE TABLE settings_overrides (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text
);
