"""Lead field names: jobs carry SOAP names (`FirstName`), REST wants its own (`firstName`)."""

from __future__ import annotations

from collections.abc import Mapping

#: Standard lead fields whose REST name is not the SOAP name with a lower-case first letter.
_IRREGULAR = {"SICCode": "sicCode", "DateofBirth": "dateOfBirth", "AnonymousIP": "anonymousIP"}

#: SOAP names of the standard fields that follow the lower-first-letter rule.
_REGULAR = (
    "AcquisitionProgramId",
    "Address",
    "AnnualRevenue",
    "BillingCity",
    "BillingCountry",
    "BillingPostalCode",
    "BillingState",
    "BillingStreet",
    "City",
    "Company",
    "Country",
    "Department",
    "DoNotCall",
    "DoNotCallReason",
    "Email",
    "EmailInvalid",
    "EmailInvalidCause",
    "Fax",
    "FirstName",
    "Industry",
    "InferredCompany",
    "InferredCountry",
    "LastName",
    "LeadRole",
    "LeadScore",
    "LeadSource",
    "LeadStatus",
    "MainPhone",
    "MarketingSuspended",
    "MiddleName",
    "MobilePhone",
    "NumberOfEmployees",
    "OriginalReferrer",
    "OriginalSearchEngine",
    "OriginalSearchPhrase",
    "OriginalSourceInfo",
    "OriginalSourceType",
    "Phone",
    "PostalCode",
    "Rating",
    "Salutation",
    "Site",
    "State",
    "Title",
    "Unsubscribed",
    "UnsubscribedReason",
    "Website",
)

STANDARD_REST_NAMES: dict[str, str] = {
    **{name: name[0].lower() + name[1:] for name in _REGULAR},
    **_IRREGULAR,
}


def rest_field_name(soap_name: str, overrides: Mapping[str, str]) -> str:
    """The REST name of a lead field: an override, else the standard mapping, else unchanged."""
    if soap_name in overrides:
        return overrides[soap_name]
    return STANDARD_REST_NAMES.get(soap_name, soap_name)
