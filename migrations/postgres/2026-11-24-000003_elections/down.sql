DROP TABLE election_voters;
DROP TABLE options;
DROP TABLE questions;
DROP TABLE elections;
