//! Orders (2.12 – 2.16, 2.18, 2.21): submit, confirm, cancel, select, after-sale, track,
//! reconciliation, credit terms, e-invoices.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::{App, Outcome, lock, money, parse_int, parse_money, value_text};
use crate::supplier::areas;
use crate::supplier::clock::Instant;
use crate::supplier::faults::Fault;
use crate::supplier::orders::{LineRequest, Order, Phase, SubmitRequest, SubmitRules};
use crate::supplier::params::Params;

impl App {
    // ---- 2.12 – 2.16 orders ----

    pub(super) fn order_lines(
        &self,
        params: &Params,
        field: &str,
        with_price: bool,
    ) -> Result<Vec<LineRequest>, String> {
        let Value::Array(items) = params.json(field)? else {
            return Err(format!("参数格式错误 {field} must be a JSON array"));
        };
        if items.is_empty() {
            return Err(format!("参数格式错误 {field} must hold at least one line"));
        }
        items
            .iter()
            .map(|item| {
                let sku = value_text(item.get("sku"))
                    .filter(|sku| !sku.is_empty())
                    .ok_or_else(|| format!("参数格式错误 every line of {field} needs a sku"))?;
                let num_text = value_text(item.get("num"))
                    .ok_or_else(|| format!("参数格式错误 line {sku} of {field} needs num"))?;
                let num: u64 = parse_int(&num_text, "num")?;
                if num == 0 {
                    return Err(format!("数量须大于 0 num of sku {sku} must be at least 1"));
                }
                let price = if with_price {
                    let text = value_text(item.get("price"))
                        .ok_or_else(|| format!("参数格式错误 line {sku} of {field} needs price"))?;
                    parse_money(&text, "price", false)?
                } else {
                    Decimal::ZERO
                };
                Ok(LineRequest { sku, num, price })
            })
            .collect()
    }

    pub(super) fn submit(&self, params: &Params, now: Instant) -> Outcome {
        let yggc_order = params.required("yggc_order")?;
        if yggc_order.chars().count() > 50 {
            return Err("商城订单号过长 yggc_order is longer than 50 characters".to_string());
        }
        let lines = self.order_lines(params, "sku", true)?;
        let max_lines = self.profile.settings.batch_max;
        if lines.len() > max_lines {
            return Err(format!(
                "订单行过多 at most {max_lines} lines per order, got {}",
                lines.len()
            ));
        }
        for field in ["name", "address"] {
            params.required(field)?;
        }
        let province = params.required("province")?;
        let city = params.required("city")?;
        let county = params.required("county")?;
        // The order keeps the county's code: its stock is kept by code.
        let codes = (
            self.area_ids.code(&province),
            self.area_ids.code(&city),
            self.area_ids.code(&county),
        );
        let county = match codes {
            (Some(province), Some(city), Some(county))
                if areas::city_of_county(county) == Some(city)
                    && areas::province_of_city(city) == Some(province) =>
            {
                county.to_string()
            }
            _ => {
                return Err(format!(
                    "收货地区不匹配 province/city/county do not match: {province}/{city}/{county}"
                ));
            }
        };
        let mobile = params.text("mobile");
        if params.text("phone").is_none() && mobile.is_none() {
            return Err("缺少联系电话 one of phone / mobile is required".to_string());
        }
        if let Some(mobile) = mobile
            && !(mobile.len() == 11
                && mobile.starts_with('1')
                && mobile.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "手机号格式错误 mobile must be 11 digits starting with 1: {mobile}"
            ));
        }
        let invoice_type: u8 = parse_int(&params.required("invoice_type")?, "invoice_type")?;
        if !(1..=3).contains(&invoice_type) {
            return Err(format!(
                "发票类型错误 invoice_type must be 1, 2 or 3: {invoice_type}"
            ));
        }
        params.required("invoice_title")?;
        params.required("invoice_org_code")?;
        if invoice_type == 2 {
            for field in [
                "invoice_name",
                "invoice_phone",
                "invoice_bank",
                "invoice_bank_code",
                "invoice_address",
                "invoice_mobile",
                "invoice_receipt_address",
            ] {
                params.required(field).map_err(|_| {
                    format!("增值税专用发票缺少 {field}: required when invoice_type = 2")
                })?;
            }
        }
        if let Some(content) = params.text("invoice_content") {
            let content: u8 = parse_int(&content, "invoice_content")?;
            if ![1, 3, 19, 22].contains(&content) {
                return Err(format!(
                    "发票内容错误 invoice_content must be 1, 3, 19 or 22: {content}"
                ));
            }
        }
        let payment: u8 = parse_int(&params.required("payment")?, "payment")?;
        if !(1..=6).contains(&payment) {
            return Err(format!("支付方式错误 payment must be 1 to 6: {payment}"));
        }
        let freight = parse_money(&params.required("freight")?, "freight", true)?;
        let order_price = parse_money(&params.required("order_price")?, "order_price", false)?;
        let request = SubmitRequest {
            yggc_order,
            lines,
            county,
            freight,
            order_price,
            payment,
        };
        let rules = SubmitRules {
            check_prices: !self.has(Fault::NoPriceCheck),
            lock_stock: !self.has(Fault::NoStockLock),
            idempotent: !self.has(Fault::DuplicateOrderOnResubmit),
        };
        let mut book = lock(&self.book);
        let order = book.submit(
            &self.catalog,
            |sku| self.answered_price(sku),
            request,
            rules,
            now,
        )?;
        let mut result = Map::new();
        if !self.has(Fault::SubmitNoOrderId) {
            result.insert("order_id".into(), Value::String(order.id.clone()));
        }
        result.insert("yggc_order".into(), Value::String(order.yggc_order.clone()));
        result.insert("order_price".into(), money(order.order_price));
        result.insert("freight".into(), money(order.freight));
        result.insert("sku".into(), Self::lines_json(order));
        Ok(Value::Object(result).into())
    }

    pub(super) fn lines_json(order: &Order) -> Value {
        order
            .lines
            .iter()
            .map(|line| json!({"sku": line.sku, "num": line.num, "price": money(line.price)}))
            .collect()
    }

    pub(super) fn confirm(&self, params: &Params, now: Instant) -> Outcome {
        let id = params.required("order_id")?;
        lock(&self.book).confirm(
            &id,
            now,
            !self.has(Fault::ConfirmNoop),
            self.has(Fault::ConfirmAfterCancel),
        )?;
        Ok(Value::Bool(true).into())
    }

    pub(super) fn cancel(&self, params: &Params, now: Instant) -> Outcome {
        let id = params.required("order_id")?;
        if self.has(Fault::CancelRefused) {
            return Err(format!("取消失败 cancel failed for order {id}"));
        }
        lock(&self.book).cancel(&id, now, self.has(Fault::CancelAfterConfirm))?;
        Ok(Value::Bool(true).into())
    }

    /// Runs `f` on an existing order.
    pub(super) fn with_order<T>(
        &self,
        params: &Params,
        f: impl FnOnce(&Order) -> Result<T, String>,
    ) -> Result<T, String> {
        let id = params.required("order_id")?;
        let book = lock(&self.book);
        match book.order(&id) {
            Some(order) => f(order),
            None => Err(format!("订单不存在 unknown order: {id}")),
        }
    }

    pub(super) fn select(&self, params: &Params, now: Instant) -> Outcome {
        let completes = !self.has(Fault::OrderNeverCompletes);
        let wrong_total = self.has(Fault::WrongOrderTotal);
        let ships_unconfirmed = self.has(Fault::ShipsUnconfirmed);
        self.with_order(params, |order| {
            let mut status = order.status(now, completes);
            // ships-unconfirmed: a pre-order nobody confirmed leaves the warehouse anyway.
            if ships_unconfirmed
                && order.phase == crate::supplier::orders::Phase::Submitted
                && now >= order.created_at + order.schedule.ship_after
            {
                status.state = 5;
            }
            let order_price = if wrong_total {
                order.order_price + Decimal::new(1, 2)
            } else {
                order.order_price
            };
            Ok(json!({
                "order_id": order.id,
                "yggc_order": order.yggc_order,
                "state": status.state,
                "submit_state": status.submit_state,
                "deliver_state": status.deliver_state,
                "order_price": money(order_price),
                "freight": money(order.freight),
                "skus": Self::lines_json(order),
            })
            .into())
        })
    }

    pub(super) fn after_sale(&self, params: &Params, now: Instant) -> Outcome {
        let id = params.required("order_id")?;
        let lines = self.order_lines(params, "skus", false)?;
        if lines.len() > self.profile.settings.batch_max {
            return Err(format!("退换货行过多 too many lines: {}", lines.len()));
        }
        let kind: u8 = parse_int(&params.required("type")?, "type")?;
        if ![4, 5, 6].contains(&kind) {
            return Err(format!("退换货类型错误 type must be 4, 5 or 6: {kind}"));
        }
        if self.has(Fault::AfterSaleRefused) {
            return Err(format!("暂不受理退换货 after-sale refused for order {id}"));
        }
        let lines: Vec<(String, u64)> =
            lines.into_iter().map(|line| (line.sku, line.num)).collect();
        let (service_id, order_id) = lock(&self.book).after_sale(&id, &lines, now)?;
        Ok(json!({"order_service_id": service_id, "order_id": order_id, "type": kind}).into())
    }

    pub(super) fn track(&self, params: &Params, now: Instant) -> Outcome {
        let no_waybill = self.has(Fault::TrackNoWaybill);
        self.with_order(params, |order| {
            let mut track = vec![json!({
                "content": "您的订单已提交，等待确认",
                "operate_time": self.clock.format(order.created_at),
                "operator": "系统",
            })];
            let mut waybill = Vec::new();
            let shipped_at = order.shipped_at(now);
            // Confirmed but not shipped yet (or shipped later): the confirmation has its own entry.
            if let Some(confirmed_at) = order.confirmation()
                && shipped_at != Some(confirmed_at)
            {
                track.push(json!({
                    "content": "您的订单已确认，仓库正在备货",
                    "operate_time": self.clock.format(confirmed_at),
                    "operator": "系统",
                }));
            }
            if let Some(shipped_at) = shipped_at {
                let items: Vec<Value> = order
                    .lines
                    .iter()
                    .map(|line| json!({"sku": line.sku, "name": line.name, "num": line.num}))
                    .collect();
                if !no_waybill {
                    waybill.push(json!({
                        "logistic_name": "顺丰速运",
                        "logistic_no": format!("SF{}", order.id),
                        "shipment_id": format!("FY{}", order.id),
                        "shipment_items": items,
                    }));
                }
                track.push(json!({
                    "content": "您的订单已确认，商品已出库",
                    "operate_time": self.clock.format(shipped_at),
                    "operator": "天津仓",
                }));
                track.push(json!({
                    "content": "运输中：快件已从天津分拨中心发出",
                    "operate_time": self.clock.format(shipped_at),
                    "operator": "顺丰速运",
                }));
                if let Some(delivered_at) = order.delivered_at().filter(|at| now >= *at) {
                    track.push(json!({
                        "content": "已签收，签收人：本人",
                        "operate_time": self.clock.format(delivered_at),
                        "operator": "顺丰速运",
                    }));
                }
            }
            if let Phase::Cancelled { at, .. } = order.phase {
                track.push(json!({
                    "content": "订单已取消",
                    "operate_time": self.clock.format(at),
                    "operator": "系统",
                }));
            }
            Ok(json!({"order_id": order.id, "waybill": waybill, "track": track}).into())
        })
    }

    pub(super) fn reconcile(&self, params: &Params) -> Outcome {
        let bdate = params.required("bdate")?;
        let edate = params.required("edate")?;
        let invalid = |date: &str| format!("日期格式错误 dates must be yyyy-MM-dd: {date}");
        let (from, _) = self
            .clock
            .parse_day(&bdate)
            .ok_or_else(|| invalid(&bdate))?;
        let (_, to) = self
            .clock
            .parse_day(&edate)
            .ok_or_else(|| invalid(&edate))?;
        if from > to {
            return Err(format!(
                "起始日期晚于结束日期 bdate {bdate} is after edate {edate}"
            ));
        }
        let book = lock(&self.book);
        let orders: Vec<&Order> = book
            .orders()
            .iter()
            .filter(|order| (from..=to).contains(&order.created_at))
            .filter(|order| !matches!(order.phase, Phase::Cancelled { .. }))
            .collect();
        let amount: Decimal = orders.iter().map(|order| order.order_price).sum();
        let now = self.clock.now();
        let entries: Vec<Value> = orders
            .iter()
            .map(|order| {
                json!({
                    "order_id": order.id,
                    "state": order.status(now, true).state,
                    "invoice_state": u8::from(order.confirmed_at().is_some()),
                    "order_price": money(order.order_price),
                })
            })
            .collect();
        let count = entries.len() + usize::from(self.has(Fault::ReconcileWrongCount));
        Ok(json!({"orders": entries, "count": count, "amount": money(amount)}).into())
    }

    pub(super) fn credit_payment(&self, params: &Params) -> Outcome {
        let id = params.required("order_id")?;
        let amount = parse_money(&params.required("pay_amount")?, "pay_amount", false)?;
        let pay_time = params.required("pay_time")?;
        if self.clock.parse(&pay_time).is_none() {
            return Err(format!(
                "时间格式错误 pay_time must be yyyy-MM-dd HH:mm:ss: {pay_time}"
            ));
        }
        let transfer_no = params.required("transfer_no")?;
        lock(&self.book).credit_payment(&id, amount, &transfer_no)?;
        Ok(Value::Bool(true).into())
    }

    pub(super) fn credit_payment_query(&self, params: &Params) -> Outcome {
        let transfer_lost = self.has(Fault::CreditTransferLost);
        self.with_order(params, |order| {
            let (state, amount, desc) = match &order.credit {
                None => (0, Decimal::ZERO, "未付款 unpaid".to_string()),
                Some(_) if transfer_lost => (0, Decimal::ZERO, "未付款 unpaid".to_string()),
                Some(credit) if credit.amount == order.order_price => (
                    2,
                    credit.amount,
                    format!("转账已核实 transfer {} verified", credit.transfer_no),
                ),
                Some(credit) => (
                    -1,
                    credit.amount,
                    format!(
                        "转账金额与订单金额不符 amount mismatch: order {}, paid {}",
                        order.order_price, credit.amount
                    ),
                ),
            };
            Ok(json!({
                "order_id": order.id,
                "pay_state": state,
                "pay_amount": money(amount),
                "verify_desc": desc,
            })
            .into())
        })
    }

    pub(super) fn einvoice(&self, params: &Params) -> Outcome {
        let relative = self.has(Fault::EinvoiceRelativeUrl);
        self.with_order(params, |order| {
            let Some(confirmed_at) = order.confirmed_at() else {
                return Err(format!(
                    "订单未确认，尚未开票 order {} is not confirmed: no invoice yet",
                    order.id
                ));
            };
            let path = format!("/einvoice/{}.pdf", order.id);
            let url = if relative {
                path
            } else {
                format!("{}{path}", self.base_url)
            };
            Ok(json!([{
                "order_id": order.id,
                "invoice_no": format!("FP{}", order.id),
                "invoice_date": self.clock.format_date(confirmed_at),
                "invoice_amount": money(order.order_price),
                "url": url,
            }])
            .into())
        })
    }
}
