"""Fixed domain risk tables the features read: reporting thresholds, channel, MCC and country risk."""

# Cash-transaction reporting thresholds are 10,000 in the US (FinCEN CTR, USD) and in the EU's
# AMLD cash-control rules (EUR); "structuring" splits amounts to stay just under them.
REPORTING_THRESHOLD = 10_000.0
NEAR_THRESHOLD_FLOOR = 8_000.0
# Currencies whose regulators set a 10,000-unit report: US CTR, EU cash controls, Canada's LCTR, Australia's
# TTR; GBP and CHF amounts are read in their own units too (close to par). Other currencies' amounts are
# compared with the threshold in euros.
REPORTING_CURRENCIES = frozenset({"USD", "EUR", "CAD", "AUD", "GBP", "CHF"})

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

# Reference rates: euros per unit of each currency (approximate mid-market rates, late 2026). They put
# amounts on one scale for the features and the amount rules, so a 20,000 yen taxi ride is not a 20,000
# euro outlier; they are not booking rates. A currency missing here counts at par.
EUR_PER_UNIT = {
    "EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.05, "SEK": 0.088, "DKK": 0.134, "NOK": 0.086,
    "PLN": 0.23, "CZK": 0.040, "HUF": 0.0025, "RON": 0.20, "CAD": 0.67, "AUD": 0.60, "JPY": 0.0061,
    "CNY": 0.127, "BRL": 0.17, "RUB": 0.0100, "UAH": 0.022, "INR": 0.011, "TRY": 0.027, "AED": 0.25,
    "NGN": 0.00060, "VND": 0.000036, "ZAR": 0.050, "KES": 0.0071, "VES": 0.025, "IRR": 0.000022,
    "MMK": 0.00044, "KPW": 0.0010,
}  # fmt: skip

# A category's typical ticket in euros (card-scheme and central-bank payment diaries: a grocery basket
# ~40, a coffee or fast-food meal ~10, a flight ~300): the prior an account's own typical amount in a
# category starts from while its history there is thin. Blank (wires, ACH) and unknown codes: 150.
MCC_TYPICAL_EUR = {
    "5411": 40, "5812": 35, "5814": 12, "5541": 50, "5542": 50, "5311": 60, "5912": 25, "4111": 5,
    "4121": 20, "4900": 90, "5651": 60, "5732": 250, "5942": 20, "7011": 180, "4511": 300, "5999": 40,
    "4814": 30, "5815": 10, "5816": 15, "5817": 10, "7995": 50, "6211": 1000, "6011": 100, "6010": 300,
    "4829": 400, "6051": 300, "5944": 400, "5045": 600, "4816": 20, "5968": 15, "4722": 400, "8011": 80,
    "8062": 200, "9311": 500, "9399": 100,
}  # fmt: skip
MCC_TYPICAL_EUR_DEFAULT = 150.0
