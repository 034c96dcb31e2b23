//! Counting an election's ballots per question, one ballot at a time, with
//! memory bounded by the number of *distinct* answers rather than ballots.
//! Pure: the server feeds it the stored compact content page by page, and
//! `ballotbox verify` feeds it the answers of an export.

use crate::elections::definition::Definition;
use crate::tally::{self, Aggregator, TallyError};

use super::model::QuestionResult;

/// Aggregates ballots per question, then counts each by its method.
pub struct Counter<'a> {
    def: &'a Definition,
    aggregators: Vec<Aggregator>,
    ballots: u64,
    scratch: Vec<u16>,
}

impl<'a> Counter<'a> {
    pub fn new(def: &'a Definition) -> Self {
        Self {
            def,
            aggregators: def.questions.iter().map(|_| Aggregator::new()).collect(),
            ballots: 0,
            scratch: Vec::new(),
        }
    }

    /// Adds one ballot in its stored form: option positions per question
    /// (questions in position order) joined by `;`, selections by `,`.
    pub fn add_content(&mut self, content: &str) -> Result<(), String> {
        let mut parts = content.split(';');
        for (qi, agg) in self.aggregators.iter_mut().enumerate() {
            let part = parts
                .next()
                .ok_or_else(|| format!("content has no answer for question {qi}"))?;
            self.scratch.clear();
            if !part.is_empty() {
                for p in part.split(',') {
                    self.scratch.push(
                        p.parse::<u16>()
                            .map_err(|_| format!("content has a bad option position {p:?}"))?,
                    );
                }
            }
            agg.add(&self.scratch);
        }
        if parts.next().is_some() {
            return Err("content answers more questions than the election has".into());
        }
        self.ballots += 1;
        Ok(())
    }

    /// Adds one ballot given as option positions per question, in question
    /// position order.
    pub fn add_positions(&mut self, answers: &[Vec<u16>]) -> Result<(), String> {
        if answers.len() != self.aggregators.len() {
            return Err(format!(
                "a ballot answers {} questions, the election has {}",
                answers.len(),
                self.aggregators.len()
            ));
        }
        for (agg, a) in self.aggregators.iter_mut().zip(answers) {
            agg.add(a);
        }
        self.ballots += 1;
        Ok(())
    }

    /// Ballots added so far.
    pub fn ballots(&self) -> u64 {
        self.ballots
    }

    /// Counts every question with its method; `seed` seeds tie-breaks (the
    /// Merkle root's 32 bytes).
    pub fn finish(self, seed: &[u8]) -> Result<Vec<QuestionResult>, TallyError> {
        self.def
            .questions
            .iter()
            .zip(self.aggregators)
            .map(|(q, agg)| {
                let options: Vec<String> = q.options.iter().map(|o| o.to_string()).collect();
                let seats = u32::try_from(q.seats).map_err(|_| TallyError::ZeroSeats)?;
                let outcome = tally::count(q.method, &options, seats, &agg.into_pairs(), seed)?;
                let to_value = |v: serde_json::Result<serde_json::Value>| {
                    v.map_err(|_| TallyError::Internal("results: JSON conversion failed"))
                };
                Ok(QuestionResult {
                    question_id: q.id,
                    method: q.method,
                    seats,
                    winners: outcome.winners,
                    tally: to_value(serde_json::to_value(&outcome.tally))?,
                    rounds: outcome
                        .rounds
                        .iter()
                        .map(|r| to_value(serde_json::to_value(r)))
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elections::definition::QuestionDef;
    use crate::elections::{ElectionId, Method, OptionId, QuestionId};

    fn def() -> Definition {
        let q = |method, n| QuestionDef {
            id: QuestionId::new(),
            prompt: "Q".into(),
            method,
            seats: 1,
            min_selections: 1,
            max_selections: n,
            allow_blank: true,
            options: (0..n).map(|_| OptionId::new()).collect(),
            labels: (0..n).map(|i| format!("option {i}")).collect(),
        };
        Definition {
            election_id: ElectionId::new(),
            questions: vec![q(Method::Plurality, 3), q(Method::Irv, 3)],
        }
    }

    #[test]
    fn content_and_positions_count_the_same() {
        let d = def();
        let mut a = Counter::new(&d);
        let mut b = Counter::new(&d);
        for (content, positions) in [
            ("0;2,1", vec![vec![0], vec![2, 1]]),
            ("1;1", vec![vec![1], vec![1]]),
            ("0;", vec![vec![0], vec![]]),
        ] {
            a.add_content(content).unwrap();
            b.add_positions(&positions).unwrap();
        }
        assert_eq!(a.ballots(), 3);
        let (ra, rb) = (a.finish(b"s").unwrap(), b.finish(b"s").unwrap());
        assert_eq!(ra, rb);
        assert_eq!(ra[0].winners, vec![d.questions[0].options[0].to_string()]);
        assert_eq!(
            ra[0].tally["counts"][d.questions[0].options[0].to_string()],
            2
        );
        assert_eq!(ra[1].tally["blank"], 1);
    }

    #[test]
    fn malformed_content_is_an_error_not_a_panic() {
        let d = def();
        let mut c = Counter::new(&d);
        assert!(c.add_content("0").is_err());
        assert!(c.add_content("0;1;2").is_err());
        assert!(c.add_content("x;1").is_err());
        assert!(
            c.add_content("9;1").is_ok(),
            "range is checked by the count"
        );
        assert!(c.finish(b"s").is_err());
    }
}
