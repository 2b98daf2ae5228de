"""Errors of the accounts domain, each with one status and a stable code."""

from __future__ import annotations

from app.core.problems import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Wrong email or password"


class InvalidToken(Unauthenticated):
    code = "invalid_token"
    title = "The access token or API key is not valid"


class LoginThrottled(TooManyRequests):
    code = "login_throttled"
    title = "Too many failed logins; try again later"


class PlatformAdminRequired(Forbidden):
    code = "platform_admin_required"
    title = "Only a platform admin may do this"


class InsufficientRole(Forbidden):
    code = "insufficient_role"
    title = "Your role in this organisation does not allow this"


class OrganizationNotFound(NotFound):
    code = "organization_not_found"
    title = "Organisation not found"


class NetworkNotFound(NotFound):
    code = "network_not_found"
    title = "Network not found"


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "Member not found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    title = "API key not found"


class InvalidTaxId(InvalidInput):
    code = "invalid_tax_id"
    title = "The tax id is not valid for the country"


class InvalidOrganization(InvalidInput):
    code = "invalid_organization"
    title = "The organisation's fields do not fit its kind"


class NotAnAssociation(InvalidInput):
    code = "not_an_association"
    title = "Only associations can join a network"


class TaxIdTaken(Conflict):
    code = "tax_id_taken"
    title = "An organisation with this tax id already exists"


class AlreadyMember(Conflict):
    code = "already_member"
    title = "This person is already a member of the organisation"


class AlreadyInNetwork(Conflict):
    code = "already_in_network"
    title = "The association already belongs to this network"


class LastAdmin(Conflict):
    code = "last_admin"
    title = "An organisation must keep at least one admin"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"
    title = "Invitation not found"


class NetworkInvitationNotFound(NotFound):
    code = "network_invitation_not_found"
    title = "Network invitation not found"


class InvitationPending(Conflict):
    code = "invitation_pending"
    title = "An invitation for this e-mail is already pending; revoke it to send a new one"


class NetworkInvitationPending(Conflict):
    code = "network_invitation_pending"
    title = "The association already has a pending invitation to this network"


class InvitationNotPending(Conflict):
    code = "invitation_not_pending"
    title = "The invitation was already accepted, declined or revoked"


class InvitationExpired(Conflict):
    code = "invitation_expired"
    title = "The invitation has expired; ask for a new one"


class InvitationLoginRequired(Conflict):
    code = "invitation_login_required"
    title = "Log in as the invited person to accept this invitation"


class CurrentPasswordWrong(InvalidInput):
    code = "current_password_wrong"
    title = "The current password is not right"


class PasswordResetThrottled(TooManyRequests):
    code = "password_reset_throttled"
    title = "Too many password reset requests; try again later"


class AccountTokenInvalid(InvalidInput):
    code = "account_token_invalid"
    title = "The link is not valid: it was used already, it expired, or it is not ours"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "Another account has this e-mail address"


class NotificationKindUnknown(InvalidInput):
    code = "notification_kind_unknown"
    title = "There is no such kind of message"


class NotificationRequired(InvalidInput):
    code = "notification_required"
    title = "This kind of message cannot be turned off"
