-- The folded state is written whole and read whole, never queried inside:
-- `json` keeps the text as given and skips building the binary form.
ALTER TABLE grievance_list ALTER COLUMN state TYPE json USING state::json;
