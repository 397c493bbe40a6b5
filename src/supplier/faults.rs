//! Named faults of the reference supplier. Each one breaks exactly one behaviour, so that every check
//! of the harness has a supplier that makes it fail.

use std::fmt;

/// One fault as listed by `mallcheck faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultInfo {
    pub id: &'static str,
    /// Requirement ids (REQUIREMENTS.md) the fault breaks.
    pub requirements: &'static [&'static str],
    pub description_zh: &'static str,
    pub description_en: &'static str,
}

macro_rules! faults {
    ($( $variant:ident = $id:literal [$($req:literal),+] $zh:literal $en:literal; )+) => {
        /// A fault the supplier can be started with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fault { $($variant),+ }

        static FAULTS: &[FaultInfo] = &[
            $( FaultInfo { id: $id, requirements: &[$($req),+], description_zh: $zh, description_en: $en } ),+
        ];

        const ALL: &[Fault] = &[$(Fault::$variant),+];
    };
}

faults! {
    PricesGetOnly = "prices-get-only" ["GEN-POST"]
        "价格接口只接受 GET，POST 返回 405" "the prices path answers 405 to POST (GET only)";
    HtmlErrorPage = "html-error-page" ["GEN-JSON"]
        "所有失败应答变成 HTML 500 错误页" "every success:false answer becomes an HTML 500 page";
    SuccessAsString = "success-as-string" ["GEN-ENVELOPE"]
        "success 以字符串 \"true\"/\"false\" 返回" "success travels as the string \"true\"/\"false\"";
    NewlinesInBody = "newlines-in-body" ["GEN-NO-NEWLINE"]
        "应答体为带换行的格式化 JSON" "answers are pretty-printed JSON with line breaks";
    NoDescOnFailure = "no-desc-on-failure" ["GEN-DESC-ON-FAILURE"]
        "失败应答不带 desc（token 失效应答除外）" "failure answers carry no desc (token refusals keep theirs)";
    Http500OnFailure = "http-500-on-failure" ["GEN-HTTP-STATUS"]
        "业务失败保留信封但返回 HTTP 500" "business failures keep the envelope but answer HTTP 500";
    TokenAnyCredentials = "token-any-credentials" ["TOK-ISSUE"]
        "任意用户名、密码、签名都能取得 token" "any username, password and sign obtain a token";
    NoTokenCheck = "no-token-check" ["TOK-REQUIRED"]
        "不带 token 的调用也被接受" "a call without a token is accepted";
    NoExpiredMarker = "no-expired-marker" ["TOK-EXPIRED-MARKER"]
        "token 失效时 desc 为 \"invalid token\"，不含 token_expired" "an invalid token answers desc \"invalid token\" without token_expired";
    TokenTtl12h = "token-ttl-12h" ["TOK-TTL-36H"]
        "token 12 小时后失效，expires_at/expires_in 也写 12 小时" "tokens expire after 12 h and expires_at/expires_in say 12 h";
    TokenNeverExpires = "token-never-expires" ["TOK-TTL-36H"]
        "token 永不失效（expires_at 仍写 36 小时）" "tokens never expire, though expires_at says 36 h: only a clock can tell";
    DuplicatePoolIds = "duplicate-pool-ids" ["POOL-LIST"]
        "品目池列表中有重复的 id" "the pool list holds one id twice";
    DuplicateSkus = "duplicate-skus" ["SKU-LIST"]
        "每个品目池把第一个 SKU 列出两次" "every pool lists its first SKU twice";
    DetailMissingBrand = "detail-missing-brand" ["DET-FIELDS", "DET-COMPLETE"]
        "部分 SKU（含第一个品目池的第一个 SKU）品牌为空" "brand_name is empty on some SKUs, including the first SKU of the first pool";
    DetailWrongSku = "detail-wrong-sku" ["DET-SAME-SKU"]
        "部分 SKU 的详情返回另一个 SKU 的详情" "the detail of some SKUs is the detail of another SKU";
    ShelfDropsSku = "shelf-drops-sku" ["SHELF-BATCH", "BATCH-COMPLETE"]
        "上下架状态接口漏掉批量中的最后一个 SKU" "shelf states leave out the last SKU of a batch";
    ImagesDropSku = "images-drop-sku" ["IMG-BATCH", "BATCH-COMPLETE"]
        "图片接口漏掉批量中的最后一个 SKU" "images leave out the last SKU of a batch";
    DeadImageLink = "dead-image-link" ["IMG-REACHABLE"]
        "图片地址返回 404" "image URLs answer 404";
    RelativeImagePath = "relative-image-path" ["IMG-REACHABLE"]
        "图片接口的图片地址是相对路径" "image URLs of the images interface are relative paths";
    PricesDropSku = "prices-drop-sku" ["PRC-BATCH", "BATCH-COMPLETE"]
        "价格接口漏掉批量中的最后一个 SKU" "prices leave out the last SKU of a batch";
    PriceAboveMarket = "price-above-market" ["PRC-NOT-ABOVE-MARKET"]
        "部分 SKU（含第一个品目池的第一个 SKU）协议价高于市场价" "the agreement price is above the market price on some SKUs, including the first SKU of the first pool";
    ThreeDecimalPrices = "three-decimal-prices" ["PRC-MONEY"]
        "市场价带三位小数" "market prices carry three decimals";
    NoCounties = "no-counties" ["AREA-LEVELS"]
        "区县接口返回空结果" "counties answer an empty result";
    DuplicateCountyNames = "duplicate-county-names" ["AREA-NAME-MATCH"]
        "天津市的区县中同一名称以不同 id 出现两次" "Tianjin answers one district name twice under different ids";
    TianjinDistrictMissing = "tianjin-district-missing" ["AREA-NAME-MATCH"]
        "天津市的区县中缺少蓟州区" "蓟州区 is missing from Tianjin's districts";
    StocksDropSku = "stocks-drop-sku" ["STK-BATCH", "BATCH-COMPLETE"]
        "库存接口漏掉批量中的最后一个 SKU" "stocks leave out the last SKU of a batch";
    StockDescContradicts = "stock-desc-contradicts" ["STK-BATCH"]
        "库存为 0 的 SKU 也写“有货”" "SKUs without stock are still described 有货";
    BatchExtraSku = "batch-extra-sku" ["BATCH-COMPLETE"]
        "库存接口多返回一个未请求的 SKU" "stocks answer one extra SKU that was not asked for";
    NewSkusNotInPool = "new-skus-not-in-pool" ["NEW-SKUS", "X-NEW-IN-POOL"]
        "新增商品接口中的 SKU 不在任何品目池中" "the SKUs of the new-SKU feed are listed in no pool";
    ChangedSkusFails = "changed-skus-fails" ["CHANGED-SKUS"]
        "修改商品接口总是失败" "the changed-SKU feed always fails";
    SubmitNoOrderId = "submit-no-order-id" ["ORD-PREORDER"]
        "预下单成功但不返回订单号" "submit succeeds without an order_id";
    NoPriceCheck = "no-price-check" ["ORD-PRICE-CHECK"]
        "预下单不校验商品价格" "submit does not check line prices";
    NoStockLock = "no-stock-lock" ["ORD-LOCK-STOCK"]
        "预下单既不检查也不锁定库存（超卖）" "submit neither checks nor locks stock (oversells)";
    ConfirmNoop = "confirm-noop" ["ORD-CONFIRM"]
        "确认订单返回成功但订单仍未确认" "confirm answers true but the order stays unconfirmed";
    CancelRefused = "cancel-refused" ["ORD-CANCEL"]
        "未确认的订单也无法取消" "cancelling an unconfirmed order is refused";
    CancelAfterConfirm = "cancel-after-confirm" ["ORD-NO-CANCEL-AFTER-CONFIRM"]
        "已确认的订单仍可取消" "a confirmed order can still be cancelled";
    ConfirmAfterCancel = "confirm-after-cancel" ["ORD-NO-CONFIRM-AFTER-CANCEL"]
        "已取消的订单仍可确认" "a cancelled order can still be confirmed";
    DuplicateOrderOnResubmit = "duplicate-order-on-resubmit" ["ORD-IDEMPOTENT"]
        "同一商城订单号重复提交会生成第二个订单" "the same yggc_order submitted again creates a second order";
    OrderNeverCompletes = "order-never-completes" ["ORD-QUERY"]
        "订单已全部妥投（deliver_state 1）但状态一直是已发货" "delivered orders (deliver_state 1) stay in state shipped: never completed";
    ShipsUnconfirmed = "ships-unconfirmed" ["ORD-CONFIRM"]
        "未确认的预下单也发货" "pre-orders that were never confirmed ship anyway";
    WrongOrderTotal = "wrong-order-total" ["X-ORDER-TOTAL"]
        "订单查询返回的金额不等于各行之和" "select answers an order_price that is not the sum of its lines";
    TrackNoWaybill = "track-no-waybill" ["LOG-TRACK"]
        "物流接口不返回运单" "track answers no waybill";
    SkuWithoutDetail = "sku-without-detail" ["X-SKU-HAS-DATA"]
        "第一个品目池的第一个 SKU 查不到详情" "the first SKU of the first pool has no detail";
    OnshelfIncomplete = "onshelf-incomplete" ["X-ONSHELF-SELLABLE", "DET-COMPLETE"]
        "部分在架 SKU 的商品详情为空" "some on-shelf SKUs have an empty introduction";
    SpecialAboveAgreement = "special-above-agreement" ["X-OFFER-BELOW-AGREEMENT"]
        "特惠价高于协议价" "special prices are above the agreement price";
    RatingsOutOfRange = "ratings-out-of-range" ["OPT-COMMENTS"]
        "部分 SKU 的评分超出 5 分制" "some SKUs score above 5";
    AfterSaleRefused = "after-sale-refused" ["OPT-AFTERSALE"]
        "已完成订单的退换货也被拒绝" "after-sale requests are refused even for completed orders";
    ReconcileWrongCount = "reconcile-wrong-count" ["OPT-RECONCILE"]
        "对账接口的订单总数与明细不符" "reconcile answers a count that differs from its orders";
    AccessoryBadKind = "accessory-bad-kind" ["OPT-ACCESSORY"]
        "配件服务标识不是 1 或 2" "the accessory kind is neither 1 nor 2";
    CreditTransferLost = "credit-transfer-lost" ["OPT-CREDIT-TERM"]
        "已录入的账期转账丢失，查询为未付款" "a recorded credit-term transfer is lost: the query answers unpaid";
    WarrantyMissingPrice = "warranty-missing-price" ["OPT-WARRANTY"]
        "延保服务缺少价格" "warranty services have no price";
    LinksEmptySkuRefused = "links-empty-sku-refused" ["OPT-ACCESSORY-LINK"]
        "配件关联接口 SKU 为空时失败" "accessory links refuse an empty SKU";
    GroupBuyEndsBeforeStart = "group-buy-ends-before-start" ["OPT-GROUP-BUY"]
        "团购结束时间早于开始时间" "group buys end before they start";
    SpecialMissingId = "special-missing-id" ["OPT-SPECIAL"]
        "特惠商品缺少特惠 id" "specials have no id";
    TiersUnordered = "tiers-unordered" ["OPT-TIERED"]
        "阶梯优惠按数量降序排列" "tiers are in descending min_num order";
    EinvoiceRelativeUrl = "einvoice-relative-url" ["OPT-EINVOICE"]
        "电子发票下载地址是相对路径" "the e-invoice URL is a relative path";
    SomeDeadImages = "some-dead-images" ["IMG-REACHABLE"]
        "部分 SKU（含每个品目池的第一个 SKU）的图片返回 404" "the images of some SKUs, including the first SKU of every pool, answer 404";
    DetailResetSome = "detail-reset-some" ["GEN-HTTP-STATUS"]
        "部分 SKU 的详情应答中途断开连接" "the detail answer of some SKUs breaks off mid-body (the connection closes)";
    SlowStocks = "slow-stocks" ["STK-REALTIME"]
        "库存接口每次应答延迟 2 秒" "stocks answer after a 2-second delay";
}

/// All faults, in a stable order.
pub fn all() -> &'static [FaultInfo] {
    FAULTS
}

impl Fault {
    pub fn info(self) -> &'static FaultInfo {
        &FAULTS[self as usize]
    }

    pub fn from_id(id: &str) -> Option<Fault> {
        ALL.iter().copied().find(|fault| fault.info().id == id)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.info().id)
    }
}

/// The faults a supplier runs with: a bit set, cheap to test on every request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSet(u128);

impl FaultSet {
    pub fn insert(&mut self, fault: Fault) {
        self.0 |= 1 << (fault as u32);
    }

    pub fn has(self, fault: Fault) -> bool {
        self.0 & (1 << (fault as u32)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_fit_the_bit_set() {
        assert!(ALL.len() <= 128);
        for (index, info) in FAULTS.iter().enumerate() {
            assert_eq!(Fault::from_id(info.id).map(|f| f as usize), Some(index));
        }
    }
}
