-- Refs of incidents anyone may see are numbered from a counter of their
-- own, so that their gaps count no restricted incident; restricted
-- incidents get random refs. The incident counter still orders all.
INSERT INTO counters (name, value) SELECT 'ref', value FROM counters WHERE name = 'incident';
