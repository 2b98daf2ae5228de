"""Errors of joint purchase campaigns."""

from __future__ import annotations

from app.core.problems import Conflict, InvalidInput, NotFound


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    title = "Purchase campaign not found"


class CampaignClosed(Conflict):
    code = "campaign_closed"
    title = "The campaign no longer takes requests"


class RequestExists(Conflict):
    code = "request_exists"
    title = "The association already asked in this campaign"


class InvalidCampaign(InvalidInput):
    code = "invalid_campaign"
    title = "The campaign is not valid"
