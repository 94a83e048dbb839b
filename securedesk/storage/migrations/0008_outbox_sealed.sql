-- Outbox content that carries a secret until it is sent (a lookup code mail) is stored as a vault field blob
-- (encrypt_field(table='outbox', row_id=id, column='content')); the relay opens it just before delivery, and the
-- content is emptied once delivered, as for every entry.

ALTER TABLE outbox ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
