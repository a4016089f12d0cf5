-- A person's cases, whatever their status, through an index. Only the open
-- case had one (case_file_one_open_idx, partial), so the person's page
-- (person show), the facts of a notice naming a person who has no open
-- case, and the retention sweep (does the person have another case?) read
-- the whole of case_file to find the closed ones: 1.7 ms a query at 33,000
-- cases, and growing with every case opened.
CREATE INDEX case_file_person_idx ON case_file (person_id);
