//! The order book and the stock it locks (2.12 – 2.18, 2.21). One mutex guards both, so a submit,
//! confirm or cancel is atomic with respect to every other: stock can never be oversold and a lock
//! is never lost.
//!
//! Life of an order on the supplier clock, evaluated lazily when asked (`Schedule`): submitted
//! (state 0, submit_state 0) → confirmed (state 0, submit_state 1, no waybill yet) → shipped
//! `ship_after` seconds after confirmation, at once by default (state 5, a waybill) → delivered
//! `deliver_after` seconds after confirmation, 24 h by default (state 1, deliver_state 1) →
//! after-sale requested (state 4). A submitted order may be cancelled (state -2), releasing its
//! stock; a confirmed one may not, shipped or not.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::catalog::{Catalog, Sku};
use super::clock::Instant;
use super::rng::MixState;

/// How long after confirmation an order is delivered, unless configured otherwise.
pub const DELIVERY_SECONDS: i64 = 24 * 3600;

/// When a confirmed order ships and is delivered, in seconds after its confirmation on the
/// supplier clock. `start` checks `0 <= ship_after <= deliver_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub ship_after: i64,
    pub deliver_after: i64,
}

impl Default for Schedule {
    /// Shipped at once, delivered a day later.
    fn default() -> Self {
        Schedule {
            ship_after: 0,
            deliver_after: DELIVERY_SECONDS,
        }
    }
}

/// One order line as submitted.
#[derive(Debug, Clone)]
pub struct LineRequest {
    pub sku: String,
    pub num: u64,
    pub price: Decimal,
}

/// A validated submit request (field rules are checked by the handler).
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub yggc_order: String,
    pub lines: Vec<LineRequest>,
    pub county: String,
    pub freight: Decimal,
    pub order_price: Decimal,
    pub payment: u8,
}

/// Behaviour switches the faults flip.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubmitRules {
    pub check_prices: bool,
    pub lock_stock: bool,
    pub idempotent: bool,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub index: u64,
    pub sku: String,
    pub name: String,
    pub num: u64,
    pub price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Submitted,
    Confirmed {
        at: Instant,
    },
    /// `confirmed_at`: when it had been confirmed before; only under the cancel-after-confirm
    /// fault.
    Cancelled {
        at: Instant,
        confirmed_at: Option<Instant>,
    },
}

#[derive(Debug, Clone)]
pub struct AfterSale {
    pub lines: Vec<(u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct CreditPayment {
    pub amount: Decimal,
    pub transfer_no: String,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub yggc_order: String,
    pub lines: Vec<Line>,
    pub freight: Decimal,
    pub order_price: Decimal,
    pub county: String,
    pub payment: u8,
    pub created_at: Instant,
    pub phase: Phase,
    /// Whether stock was taken for it (not under the no-stock-lock fault).
    pub locked: bool,
    pub after_sales: Vec<AfterSale>,
    pub credit: Option<CreditPayment>,
    /// The book's schedule, kept with the order so that its state needs nothing else.
    pub schedule: Schedule,
}

/// What select answers about the state of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub state: i8,
    pub submit_state: u8,
    pub deliver_state: u8,
}

impl Order {
    pub fn confirmed_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Confirmed { at } => Some(at),
            _ => None,
        }
    }

    /// When it was confirmed, even if it was cancelled afterwards.
    pub fn confirmation(&self) -> Option<Instant> {
        match self.phase {
            Phase::Confirmed { at } => Some(at),
            Phase::Cancelled { confirmed_at, .. } => confirmed_at,
            Phase::Submitted => None,
        }
    }

    /// When the goods leave (or left): `ship_after` after the confirmation, even if the order
    /// was cancelled after that moment; a cancel before it kept them in the warehouse.
    pub fn ships_at(&self) -> Option<Instant> {
        let at = self
            .confirmation()?
            .saturating_add(self.schedule.ship_after);
        match self.phase {
            Phase::Cancelled {
                at: cancelled_at, ..
            } if cancelled_at < at => None,
            _ => Some(at),
        }
    }

    /// When the goods left, if they have by `now`.
    pub fn shipped_at(&self, now: Instant) -> Option<Instant> {
        self.ships_at().filter(|at| now >= *at)
    }

    pub fn delivered_at(&self) -> Option<Instant> {
        self.confirmed_at()
            .map(|at| at.saturating_add(self.schedule.deliver_after))
    }

    pub fn is_delivered(&self, now: Instant) -> bool {
        self.delivered_at().is_some_and(|at| now >= at)
    }

    /// `completes`: false under the order-never-completes fault.
    pub fn status(&self, now: Instant, completes: bool) -> Status {
        match self.phase {
            Phase::Submitted => Status {
                state: 0,
                submit_state: 0,
                deliver_state: 0,
            },
            Phase::Cancelled { .. } => Status {
                state: -2,
                submit_state: 0,
                deliver_state: 0,
            },
            Phase::Confirmed { .. } if completes && self.is_delivered(now) => Status {
                state: if self.after_sales.is_empty() { 1 } else { 4 },
                submit_state: 1,
                deliver_state: 1,
            },
            // order-never-completes: the goods are delivered, the state does not follow.
            Phase::Confirmed { .. } if self.is_delivered(now) => Status {
                state: 5,
                submit_state: 1,
                deliver_state: 1,
            },
            Phase::Confirmed { .. } if self.shipped_at(now).is_some() => Status {
                state: 5,
                submit_state: 1,
                deliver_state: 0,
            },
            // Confirmed, still in the warehouse: new, as far as the goods go.
            Phase::Confirmed { .. } => Status {
                state: 0,
                submit_state: 1,
                deliver_state: 0,
            },
        }
    }

    /// Units of a SKU already sent back through after-sale requests.
    fn returned(&self, index: u64) -> u64 {
        self.after_sales
            .iter()
            .flat_map(|service| service.lines.iter())
            .filter(|(line_index, _)| *line_index == index)
            .fold(0u64, |total, (_, num)| total.saturating_add(*num))
    }
}

/// Area ids are GB/T 2260 digit codes; stock is keyed by their number. Callers check that an
/// area is known before asking, so the 0 fallback never mixes real areas.
fn area_number(area: &str) -> u32 {
    area.parse().unwrap_or(0)
}

#[derive(Debug, Default)]
pub struct OrderBook {
    schedule: Schedule,
    orders: Vec<Order>,
    by_id: HashMap<String, usize>,
    by_yggc: HashMap<String, usize>,
    /// Stock set through the admin endpoint: the total (available + taken) per (SKU, area).
    stock_totals: HashMap<(u64, u32), u64, MixState>,
    /// Units locked or sold per (SKU, area).
    taken: HashMap<(u64, u32), u64, MixState>,
    next_service: u64,
}

impl OrderBook {
    pub fn new(schedule: Schedule) -> OrderBook {
        OrderBook {
            schedule,
            ..OrderBook::default()
        }
    }

    pub fn available(&self, catalog: &Catalog, index: u64, area: &str) -> u64 {
        let key = (index, area_number(area));
        let total = self
            .stock_totals
            .get(&key)
            .copied()
            .unwrap_or_else(|| catalog.base_stock(index, area));
        total.saturating_sub(self.taken.get(&key).copied().unwrap_or(0))
    }

    /// Makes `num` units available in an area (the admin endpoint).
    pub fn set_stock(&mut self, index: u64, area: &str, num: u64) {
        let key = (index, area_number(area));
        let taken = self.taken.get(&key).copied().unwrap_or(0);
        self.stock_totals.insert(key, num.saturating_add(taken));
    }

    pub fn order(&self, id: &str) -> Option<&Order> {
        self.by_id.get(id).map(|&slot| &self.orders[slot])
    }

    fn order_mut(&mut self, id: &str) -> Result<&mut Order, String> {
        match self.by_id.get(id) {
            Some(&slot) => Ok(&mut self.orders[slot]),
            None => Err(format!("订单不存在 unknown order: {id}")),
        }
    }

    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// Pre-orders: checks every line, then locks the stock of all lines at once.
    /// `agreement_price`: the price the supplier answers for a SKU (2.9); lines must match it.
    pub fn submit(
        &mut self,
        catalog: &Catalog,
        agreement_price: impl Fn(&Sku) -> Decimal,
        request: SubmitRequest,
        rules: SubmitRules,
        now: Instant,
    ) -> Result<&Order, String> {
        if rules.idempotent
            && let Some(&slot) = self.by_yggc.get(&request.yggc_order)
        {
            return Ok(&self.orders[slot]);
        }
        let mut lines: Vec<Line> = Vec::with_capacity(request.lines.len());
        let mut sum = Decimal::ZERO;
        for line in &request.lines {
            let Some(index) = catalog.index_of(&line.sku) else {
                return Err(format!("商品不存在 unknown sku: {}", line.sku));
            };
            if lines.iter().any(|seen| seen.index == index) {
                return Err(format!("商品行重复 duplicate line for sku {}", line.sku));
            }
            let sku = catalog.sku(index);
            if !sku.on_shelf {
                return Err(format!("商品已下架 sku {} is off shelf", line.sku));
            }
            let expected = agreement_price(&sku);
            if rules.check_prices && line.price != expected {
                return Err(format!(
                    "价格不符 price mismatch: sku {} expected {expected}, got {}",
                    line.sku, line.price
                ));
            }
            sum = line
                .price
                .checked_mul(Decimal::from(line.num))
                .and_then(|amount| sum.checked_add(amount))
                .ok_or_else(|| format!("金额溢出 amount overflow at sku {}", line.sku))?;
            lines.push(Line {
                index,
                sku: sku.code,
                name: sku.name,
                num: line.num,
                price: line.price,
            });
        }
        let expected = sum
            .checked_add(request.freight)
            .ok_or_else(|| "金额溢出 amount overflow".to_string())?;
        if expected != request.order_price {
            return Err(format!(
                "订单金额不符 order_price mismatch: expected {expected} (Σ price × num + freight), got {}",
                request.order_price
            ));
        }
        if rules.lock_stock {
            for line in &lines {
                let available = self.available(catalog, line.index, &request.county);
                if available < line.num {
                    return Err(format!(
                        "库存不足 insufficient stock: sku {} has {available} in area {}, asked {}",
                        line.sku, request.county, line.num
                    ));
                }
            }
            for line in &lines {
                *self
                    .taken
                    .entry((line.index, area_number(&request.county)))
                    .or_insert(0) += line.num;
            }
        }
        let slot = self.orders.len();
        let id = format!("{}", 300_000_000_001u64 + slot as u64);
        self.by_id.insert(id.clone(), slot);
        self.by_yggc.insert(request.yggc_order.clone(), slot);
        self.orders.push(Order {
            id,
            yggc_order: request.yggc_order,
            lines,
            freight: request.freight,
            order_price: request.order_price,
            county: request.county,
            payment: request.payment,
            created_at: now,
            phase: Phase::Submitted,
            locked: rules.lock_stock,
            after_sales: Vec::new(),
            credit: None,
            schedule: self.schedule,
        });
        Ok(&self.orders[slot])
    }

    /// `takes_effect`: false under confirm-noop; `after_cancel`: true under confirm-after-cancel.
    pub fn confirm(
        &mut self,
        id: &str,
        now: Instant,
        takes_effect: bool,
        after_cancel: bool,
    ) -> Result<(), String> {
        let order = self.order_mut(id)?;
        match order.phase {
            Phase::Confirmed { .. } => Ok(()),
            Phase::Cancelled { .. } if !after_cancel => {
                Err(format!("订单已取消，不能确认 order {id} is cancelled"))
            }
            Phase::Submitted | Phase::Cancelled { .. } => {
                if takes_effect {
                    order.phase = Phase::Confirmed { at: now };
                }
                Ok(())
            }
        }
    }

    /// `after_confirm`: true under cancel-after-confirm.
    pub fn cancel(&mut self, id: &str, now: Instant, after_confirm: bool) -> Result<(), String> {
        let order = self.order_mut(id)?;
        match order.phase {
            Phase::Cancelled { .. } => return Ok(()),
            Phase::Confirmed { .. } if !after_confirm => {
                return Err(format!(
                    "取消失败：订单已确认，货物可能已派出 order {id} is confirmed and cannot be cancelled"
                ));
            }
            Phase::Submitted | Phase::Confirmed { .. } => {}
        }
        order.phase = Phase::Cancelled {
            at: now,
            confirmed_at: order.confirmed_at(),
        };
        let release: Vec<(u64, u64)> = if order.locked {
            order.locked = false;
            order.lines.iter().map(|l| (l.index, l.num)).collect()
        } else {
            Vec::new()
        };
        let county = area_number(&order.county);
        for (index, num) in release {
            if let Some(taken) = self.taken.get_mut(&(index, county)) {
                *taken = taken.saturating_sub(num);
            }
        }
        Ok(())
    }

    pub fn after_sale(
        &mut self,
        id: &str,
        lines: &[(String, u64)],
        now: Instant,
    ) -> Result<(String, String), String> {
        let service_number = self.next_service + 1;
        let order = self.order_mut(id)?;
        if !order.is_delivered(now) {
            return Err(format!(
                "订单未完成，不能退换货 order {id} is not completed (delivered) yet"
            ));
        }
        let mut accepted = Vec::with_capacity(lines.len());
        for (sku, num) in lines {
            let Some(line) = order.lines.iter().find(|line| &line.sku == sku) else {
                return Err(format!("订单中没有该商品 sku {sku} is not in order {id}"));
            };
            let asked = lines
                .iter()
                .filter(|(s, _)| s == sku)
                .fold(0u64, |total, (_, n)| total.saturating_add(*n));
            if asked.saturating_add(order.returned(line.index)) > line.num {
                return Err(format!(
                    "退换数量超过购买数量 sku {sku}: bought {}, already returned {}, asked {asked}",
                    line.num,
                    order.returned(line.index)
                ));
            }
            accepted.push((line.index, *num));
        }
        let service_id = format!("AS{}{:04}", order.id, service_number);
        order.after_sales.push(AfterSale { lines: accepted });
        let order_id = order.id.clone();
        self.next_service = service_number;
        Ok((service_id, order_id))
    }

    pub fn credit_payment(
        &mut self,
        id: &str,
        amount: Decimal,
        transfer_no: &str,
    ) -> Result<(), String> {
        let order = self.order_mut(id)?;
        if order.payment != 5 {
            return Err(format!(
                "非账期订单 order {id} is not paid on credit terms (payment = {})",
                order.payment
            ));
        }
        if order.confirmed_at().is_none() {
            return Err(format!("订单未确认 order {id} is not confirmed"));
        }
        if order
            .credit
            .as_ref()
            .is_some_and(|credit| credit.amount == order.order_price)
        {
            return Err(format!("订单已付款 order {id} is already paid"));
        }
        order.credit = Some(CreditPayment {
            amount,
            transfer_no: transfer_no.to_string(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Submits `num` units of the first SKU as `yggc`; the order id ("" when refused).
    fn submitted(book: &mut OrderBook, catalog: &Catalog, yggc: &str, num: u64) -> String {
        book.submit(
            catalog,
            |sku| sku.price,
            request(catalog, yggc, num),
            RULES,
            0,
        )
        .map(|o| o.id.clone())
        .unwrap_or_default()
    }

    fn request(catalog: &Catalog, yggc: &str, num: u64) -> SubmitRequest {
        let sku = catalog.sku(0);
        SubmitRequest {
            yggc_order: yggc.to_string(),
            lines: vec![LineRequest {
                sku: sku.code.clone(),
                num,
                price: sku.price,
            }],
            county: "120101".to_string(),
            freight: Decimal::ZERO,
            order_price: sku.price * Decimal::from(num),
            payment: 5,
        }
    }

    const RULES: SubmitRules = SubmitRules {
        check_prices: true,
        lock_stock: true,
        idempotent: true,
    };

    #[test]
    fn locks_release_and_state_machine() {
        let catalog = Catalog::new(1, 100, 0);
        let mut book = OrderBook::default();
        book.set_stock(0, "120101", 3);
        let first = book
            .submit(
                &catalog,
                |sku| sku.price,
                request(&catalog, "Y1", 2),
                RULES,
                0,
            )
            .map(|o| o.id.clone());
        let first = first.unwrap_or_default();
        assert_eq!(book.available(&catalog, 0, "120101"), 1);
        assert!(
            book.submit(
                &catalog,
                |sku| sku.price,
                request(&catalog, "Y2", 2),
                RULES,
                0
            )
            .is_err()
        );
        let again = book
            .submit(
                &catalog,
                |sku| sku.price,
                request(&catalog, "Y1", 2),
                RULES,
                0,
            )
            .map(|o| o.id.clone());
        assert_eq!(again.as_deref(), Ok(first.as_str()));
        assert_eq!(book.available(&catalog, 0, "120101"), 1);
        assert!(book.cancel(&first, 10, false).is_ok());
        assert_eq!(book.available(&catalog, 0, "120101"), 3);
        assert!(book.confirm(&first, 20, true, false).is_err());
    }

    #[test]
    fn huge_amounts_are_refused_not_overflowed() {
        let catalog = Catalog::new(1, 100, 0);
        let mut book = OrderBook::default();
        let mut order = request(&catalog, "Y1", u64::MAX);
        order.lines[0].price = Decimal::MAX;
        let rules = SubmitRules {
            check_prices: false,
            ..RULES
        };
        let refused = book
            .submit(&catalog, |sku| sku.price, order, rules, 0)
            .err();
        assert!(refused.is_some_and(|desc| desc.contains("overflow")));
    }

    #[test]
    fn delivery_after_a_day_then_after_sale() {
        let catalog = Catalog::new(1, 100, 0);
        let mut book = OrderBook::default();
        let id = submitted(&mut book, &catalog, "Y1", 2);
        assert!(book.confirm(&id, 100, true, false).is_ok());
        assert!(book.cancel(&id, 101, false).is_err());
        let sku = catalog.code(0);
        assert!(book.after_sale(&id, &[(sku.clone(), 1)], 200).is_err());
        let status = book
            .order(&id)
            .map(|o| o.status(100 + DELIVERY_SECONDS, true));
        assert_eq!(status.map(|s| s.state), Some(1));
        assert!(
            book.after_sale(&id, &[(sku.clone(), 3)], 100 + DELIVERY_SECONDS)
                .is_err()
        );
        assert!(
            book.after_sale(&id, &[(sku.clone(), 2)], 100 + DELIVERY_SECONDS)
                .is_ok()
        );
        assert!(
            book.after_sale(&id, &[(sku, 1)], 100 + DELIVERY_SECONDS)
                .is_err()
        );
    }

    #[test]
    fn delayed_schedule_confirmed_then_shipped_then_delivered() {
        let catalog = Catalog::new(1, 100, 0);
        let mut book = OrderBook::new(Schedule {
            ship_after: 10,
            deliver_after: 20,
        });
        let id = submitted(&mut book, &catalog, "Y1", 2);
        assert!(book.confirm(&id, 100, true, false).is_ok());
        let state = |book: &OrderBook, now| {
            book.order(&id)
                .map(|o| o.status(now, true))
                .map(|s| (s.state, s.submit_state, s.deliver_state))
        };
        assert_eq!(state(&book, 109), Some((0, 1, 0)));
        assert_eq!(state(&book, 110), Some((5, 1, 0)));
        assert_eq!(state(&book, 120), Some((1, 1, 1)));
        let shipped = book.order(&id).and_then(|o| o.shipped_at(109));
        assert_eq!(shipped, None);
        let sku = catalog.code(0);
        assert!(book.after_sale(&id, &[(sku.clone(), 1)], 119).is_err());
        // Confirmed but not shipped: still not cancellable.
        let other = submitted(&mut book, &catalog, "Y2", 1);
        assert!(book.confirm(&other, 100, true, false).is_ok());
        assert!(book.cancel(&other, 101, false).is_err());
        // Under cancel-after-confirm, a cancel before shipping keeps the goods home.
        assert!(book.cancel(&other, 101, true).is_ok());
        assert_eq!(book.order(&other).and_then(|o| o.shipped_at(200)), None);
        assert!(book.after_sale(&id, &[(sku, 1)], 120).is_ok());
    }
}
