-- The built-in appointments service: sites, services, doctors, working hours and bookings.
-- Double booking is impossible at the database level: a doctor's booked appointments may not overlap.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE sites (
    id      text PRIMARY KEY,
    name    text NOT NULL,
    address text NOT NULL DEFAULT ''
);

CREATE TABLE services (
    id      text PRIMARY KEY,
    name    text NOT NULL,
    minutes integer NOT NULL CHECK (minutes BETWEEN 5 AND 240)
);

CREATE TABLE doctors (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    service_id text NOT NULL REFERENCES services (id)
);

CREATE TABLE working_hours (
    doctor_id text NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    site_id   text NOT NULL REFERENCES sites (id),
    weekday   smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- 0 is Monday
    starts    time NOT NULL,
    ends      time NOT NULL CHECK (ends > starts),
    PRIMARY KEY (doctor_id, weekday, starts)
);

CREATE TABLE appointments (
    id              text PRIMARY KEY,
    doctor_id       text NOT NULL REFERENCES doctors (id),
    site_id         text NOT NULL REFERENCES sites (id),
    service_id      text NOT NULL REFERENCES services (id),
    patient_name    text NOT NULL CHECK (length(patient_name) BETWEEN 2 AND 120),
    patient_phone   text NOT NULL CHECK (patient_phone ~ '^[0-9]{10,15}$'),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
    status          text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled')),
    idempotency_key text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT no_double_booking EXCLUDE USING gist (
        doctor_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (status = 'booked')
);
CREATE INDEX appointments_by_phone ON appointments (patient_phone, starts_at);
