-- When a late checklist step reminded its owner, and when it escalated.
ALTER TABLE checklist_items ADD COLUMN reminded_at TIMESTAMPTZ;
ALTER TABLE checklist_items ADD COLUMN escalated_at TIMESTAMPTZ;
