-- Counterpart of the PostgreSQL migration that stores the folded state as
-- `json`; SQLite already stores it as text.
SELECT 1;
