DROP TABLE ballots;
DROP TABLE participations;
