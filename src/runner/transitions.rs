//! `order_transitions`: drives every transition of the order's life the profile describes
//! (`[[order_life]]`) and judges each answer with `checks::order_transition`. An order is brought
//! to a state by the accepted transitions that lead there (a new pre-order, then confirm or
//! cancel), so two pre-orders cover the default life; an order id never issued stands for
//! `unknown`. The transition table (expected, seen) goes out as one event.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::results::Rows;
use super::shared::Shared;
use super::step::{Abort, call_judged};
use crate::checks;
use crate::events::{Event, TransitionSeen};
use crate::profile::{Outcome, Transition, iface};

/// The states in the order they are visited: each is reached from an earlier one.
const VISIT: &[&str] = &["pre_ordered", "confirmed", "cancelled", "unknown"];

struct Driver<'a> {
    shared: &'a Arc<Shared>,
    /// The submit's parameters but `yggc_order`.
    base: Map<String, Value>,
    unknown: String,
    submitted: usize,
    /// What each transition of the profile saw, by its index.
    seen: Vec<Option<String>>,
    /// Orders brought to a state and not used yet.
    parked: HashMap<String, Vec<String>>,
}

/// `order_transitions` (`with: {params: {…submit parameters…}, unknown_order: ID}`).
pub(crate) async fn order_transitions(
    shared: &Arc<Shared>,
    args: &Map<String, Value>,
    rows: &mut Rows<'_>,
) -> Result<(), Abort> {
    let Some(base) = args.get("params").and_then(Value::as_object).cloned() else {
        return Err(Abort(
            "order_transitions needs `with: {params: {…}}`".into(),
        ));
    };
    let unknown = args
        .get("unknown_order")
        .and_then(Value::as_str)
        .map_or_else(
            || format!("MC{}NEVER", shared.options.run_id),
            str::to_string,
        );
    let life = shared.profile.order_life.clone();
    let mut driver = Driver {
        shared,
        base,
        unknown,
        submitted: 0,
        seen: vec![None; life.len()],
        parked: HashMap::new(),
    };
    for state in VISIT {
        // What leaves the order where it is first, on one order; then each move on its own.
        let (stays, moves): (Vec<usize>, Vec<usize>) = (0..life.len())
            .filter(|&i| life[i].from == *state)
            .partition(|&i| life[i].expect != Outcome::Accept);
        if !stays.is_empty()
            && let Some(order) = driver.order_in(&life, state, rows, 0).await
        {
            for &i in &stays {
                driver.apply(&life, i, &order, rows).await;
            }
        }
        for &i in &moves {
            if driver.seen[i].is_some() {
                continue;
            }
            if let Some(order) = driver.order_in(&life, state, rows, 0).await
                && driver.apply(&life, i, &order, rows).await == Some(true)
                && let Some(to) = &life[i].to
            {
                driver.parked.entry(to.clone()).or_default().push(order);
            }
        }
    }
    let table = life
        .iter()
        .zip(&driver.seen)
        .map(|(t, seen)| TransitionSeen {
            from: t.from.clone(),
            action: t.action.clone(),
            expected: t.expect.as_str().to_string(),
            seen: seen.clone().unwrap_or_else(|| "not reached".to_string()),
            requirement: t.requirement.clone(),
        })
        .collect();
    shared.emit(Event::OrderTransitions(table));
    Ok(())
}

impl Driver<'_> {
    /// An order in `state`: one parked there, a new pre-order, the unknown id, or one brought
    /// there by the accepted transition that leads to it.
    async fn order_in(
        &mut self,
        life: &[Transition],
        state: &str,
        rows: &mut Rows<'_>,
        depth: usize,
    ) -> Option<String> {
        if let Some(order) = self.parked.get_mut(state).and_then(Vec::pop) {
            return Some(order);
        }
        match state {
            "unknown" => return Some(self.unknown.clone()),
            "pre_ordered" => return self.submit(rows).await,
            _ => {}
        }
        let index = life
            .iter()
            .position(|t| t.expect == Outcome::Accept && t.to.as_deref() == Some(state))?;
        // One that led nowhere before (refused) is not tried on another order.
        if depth > VISIT.len() || self.seen[index].as_deref().is_some_and(|s| s != "accepted") {
            return None;
        }
        let order = Box::pin(self.order_in(life, &life[index].from, rows, depth + 1)).await?;
        (self.apply(life, index, &order, rows).await == Some(true)).then_some(order)
    }

    async fn submit(&mut self, rows: &mut Rows<'_>) -> Option<String> {
        self.submitted += 1;
        let mut params = self.base.clone();
        params.insert(
            "yggc_order".into(),
            Value::String(format!(
                "{}-S{}",
                self.shared.options.run_id, self.submitted
            )),
        );
        let (_, judged) = call_judged(self.shared, rows, iface::SUBMIT, &params, true).await;
        let judged = judged.filter(|j| j.succeeded())?;
        match judged.result().get("order_id")? {
            Value::String(id) => Some(id.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Takes transition `index` on `order`, judges the answer, and says whether it was accepted.
    async fn apply(
        &mut self,
        life: &[Transition],
        index: usize,
        order: &str,
        rows: &mut Rows<'_>,
    ) -> Option<bool> {
        let transition = &life[index];
        let mut params = Map::new();
        params.insert("order_id".into(), Value::String(order.to_string()));
        let expect_success = transition.expect == Outcome::Accept;
        let (exchange, judged) = call_judged(
            self.shared,
            rows,
            &transition.action,
            &params,
            expect_success,
        )
        .await;
        let answer = judged.as_ref().and_then(|j| j.value());
        self.shared
            .orders
            .observe(&transition.action, &params, answer);
        let accepted = answer
            .and_then(|a| a.get("success"))
            .and_then(Value::as_bool);
        let desc = answer
            .and_then(|a| a.get("desc"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let run = checks::order_transition(transition, accepted, desc);
        rows.record(&run, Some(&transition.action), Some(&exchange));
        self.seen[index] = Some(
            match accepted {
                Some(true) => "accepted",
                Some(false) => "refused",
                None => "no answer",
            }
            .to_string(),
        );
        accepted
    }
}
