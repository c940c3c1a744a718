"""Fixed domain risk tables the features read: reporting thresholds, channel, MCC and country risk."""

# Cash-transaction reporting thresholds are 10,000 in the US (FinCEN CTR, USD) and in the EU's
# AMLD cash-control rules (EUR); "structuring" splits amounts to stay just under them.
REPORTING_THRESHOLD = 10_000.0
NEAR_THRESHOLD_FLOOR = 8_000.0

# Channel risk: card-not-present and push payments carry the most fraud (EBA/ECB payment fraud
# reports: card-not-present and credit transfers dominate fraud by value); chip-and-PIN the least.
CHANNEL_RISK = {"card_present": 0.1, "atm": 0.3, "ach": 0.3, "online": 0.5, "wire": 0.6}
CHANNEL_RISK_DEFAULT = 0.5  # unknown or blank channel: treated like card-not-present

# MCC risk tiers, from the card schemes' high-risk merchant programmes (Visa Integrity Risk Program,
# Mastercard Excessive Chargeback / BRAM categories: 5962, 5966, 5967, 7273, 7995, ...) and AML
# guidance on money transfer, quasi-cash, stored value and securities (FATF, FinCEN).
_MCC_HIGH = 0.9
_MCC_ELEVATED = 0.6
_MCC_MODERATE = 0.35
_MCC_LOW = 0.05
MCC_RISK = {
    "4829": _MCC_HIGH,  # money transfer / wire transfer money orders
    "6051": _MCC_HIGH,  # quasi-cash: crypto, money orders, travellers cheques
    "6211": _MCC_HIGH,  # security brokers and dealers
    "6540": _MCC_HIGH,  # stored-value card load
    "7995": _MCC_HIGH,  # betting, gambling
    "5962": _MCC_HIGH,  # direct marketing, travel
    "5966": _MCC_HIGH,  # direct marketing, outbound telemarketing
    "5967": _MCC_HIGH,  # direct marketing, inbound telemarketing / adult content
    "7273": _MCC_HIGH,  # dating and escort services
    "5094": _MCC_ELEVATED,  # precious stones and metals
    "5944": _MCC_ELEVATED,  # jewellery, watches
    "5993": _MCC_ELEVATED,  # tobacco
    "4816": _MCC_ELEVATED,  # computer network / information services
    "5816": _MCC_ELEVATED,  # digital games
    "5968": _MCC_ELEVATED,  # continuity / subscription merchants
    "5999": _MCC_MODERATE,  # miscellaneous retail
    "4814": _MCC_MODERATE,  # telecom services, prepaid top-ups
    "5815": _MCC_MODERATE,  # digital media
    "5817": _MCC_MODERATE,  # digital applications
    "5732": _MCC_MODERATE,  # electronics
    "5045": _MCC_MODERATE,  # computers and peripherals
    "4722": _MCC_MODERATE,  # travel agencies
    "6010": _MCC_MODERATE,  # manual cash disbursement
    "6011": _MCC_MODERATE,  # ATM cash withdrawal
    "7011": _MCC_LOW,  # hotels
    "4511": _MCC_LOW,  # airlines
    "5942": _MCC_LOW,  # book stores
    "5651": _MCC_LOW,  # family clothing
    "4121": _MCC_LOW,  # taxis and ride sharing
    "4111": _MCC_LOW,  # commuter transport
    "5912": _MCC_LOW,  # drug stores
    "5311": _MCC_LOW,  # department stores
    "5541": _MCC_LOW,  # service stations
    "5542": _MCC_LOW,  # automated fuel dispensers
    "5814": _MCC_LOW,  # fast food
    "5812": _MCC_LOW,  # restaurants
    "5411": _MCC_LOW,  # grocery stores
    "4900": _MCC_LOW,  # utilities
    "8011": _MCC_LOW,  # doctors
    "8062": _MCC_LOW,  # hospitals
    "9311": _MCC_LOW,  # tax payments
    "9399": _MCC_LOW,  # government services
}
# Blank (wires and ACH have a payee, not a merchant) or a code not in the table: between tiers.
MCC_RISK_DEFAULT = 0.3

# Country risk from the FATF public statements, as of the February 2026 plenary (Oct 2025 lists plus
# KW and PG added in Feb 2026); review at every plenary (February, June, October):
# "high-risk jurisdictions subject to a call for action" (black list) and "jurisdictions under
# increased monitoring" (grey list).
FATF_CALL_FOR_ACTION = ("KP", "IR", "MM")
FATF_INCREASED_MONITORING = (
    "DZ", "AO", "BO", "BG", "CM", "CI", "CD", "HT", "KE", "KW", "LA", "LB", "MC", "NA",
    "NP", "PG", "SS", "SY", "VE", "VN", "VG", "YE",
)  # fmt: skip
COUNTRY_RISK = {
    **dict.fromkeys(FATF_INCREASED_MONITORING, 0.7),
    **dict.fromkeys(FATF_CALL_FOR_ACTION, 1.0),
}
COUNTRY_RISK_DEFAULT = 0.1  # any other country code
COUNTRY_RISK_BLANK = 0.3  # no country given: missing location is itself a weak signal

# Each country's own currency (ISO 4217). A country missing here never counts as a mismatch.
# The euro area includes Bulgaria since 1 January 2026, and Monaco uses the euro by agreement.
_EURO_AREA = ("AT", "BE", "BG", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV",
              "MT", "NL", "PT", "SI", "SK", "MC")  # fmt: skip
COUNTRY_CURRENCY = {
    **dict.fromkeys(_EURO_AREA, "EUR"),
    **dict.fromkeys(("US", "EC", "SV", "PA", "VG"), "USD"),
    "GB": "GBP", "CH": "CHF", "SE": "SEK", "DK": "DKK", "NO": "NOK", "PL": "PLN", "CZ": "CZK",
    "HU": "HUF", "RO": "RON", "CA": "CAD", "AU": "AUD", "JP": "JPY", "CN": "CNY",
    "BR": "BRL", "RU": "RUB", "UA": "UAH", "IN": "INR", "TR": "TRY", "AE": "AED",
    "NG": "NGN", "VN": "VND", "ZA": "ZAR", "KE": "KES", "VE": "VES", "IR": "IRR", "MM": "MMK", "KP": "KPW",
}  # fmt: skip
