"""Error codes and messages of the accounts app."""

from yizhan.core.errors import (
    AppError,
    Conflict,
    Message,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationError,
)


class AccountLocked(AppError):
    status = 429
    code = "account_locked"
    message = Message(
        "登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试",
        "Too many failed logins: the account is locked, try again in {minutes} minutes",
    )


class InvalidCredentials(ValidationError):
    code = "invalid_credentials"
    message = Message("用户名或密码错误", "Wrong username or password")


class OtpRateLimited(RateLimited):
    code = "otp_rate_limited"
    message = Message("验证码发送过于频繁，请一小时后再试", "Too many codes requested, please try again in an hour")


class OtpInvalid(ValidationError):
    code = "otp_invalid"
    message = Message("验证码错误", "Wrong code")


class OtpExpired(ValidationError):
    code = "otp_expired"
    message = Message("验证码已过期或不存在，请重新获取", "The code has expired or was never sent; request a new one")


class OtpTooManyTries(RateLimited):
    code = "otp_too_many_tries"
    message = Message("验证码错误次数过多，请重新获取", "Too many wrong codes; request a new one")


class AccountDisabled(PermissionDenied):
    code = "account_disabled"
    message = Message("该账号已停用", "This account is disabled")


class UsePasswordLogin(PermissionDenied):
    code = "use_password_login"
    message = Message("工作人员请使用用户名和密码登录", "Staff accounts log in with username and password")


class InvalidTokenName(ValidationError):
    code = "invalid_name"
    message = Message("请填写 1–80 字的名称", "Give a name of 1–80 characters")


class InvalidRole(ValidationError):
    code = "invalid_role"
    message = Message("角色无效", "Unknown role")


class JurisdictionRequired(ValidationError):
    code = "required"
    message = Message("请选择辖区", "Choose a jurisdiction")


class RoleAboveOwnLevel(PermissionDenied):
    code = "role_above_own_level"
    message = Message("不能授予高于自己级别的角色", "You cannot grant a role above your own level")


class GrantNotFound(NotFound):
    code = "grant_not_found"
    message = Message("该授权不存在", "No such role grant")


class InvalidUsername(ValidationError):
    code = "invalid_username"
    message = Message("用户名须为 3–150 位字母、数字或 _.@+-", "Username: 3–150 letters, digits or _.@+-")


class WeakPassword(ValidationError):
    code = "weak_password"
    message = Message("密码太简单或太短（至少 8 位）", "Password too weak or short (8+ characters)")


class UsernameTaken(Conflict):
    code = "username_taken"
    message = Message("用户名已被使用", "Username is taken")


class PhoneTaken(Conflict):
    code = "phone_taken"
    message = Message("手机号已被使用", "Phone number is in use")


class TooLong(ValidationError):
    """A profile text over its limit: ``TooLong(field=key, limit=60)``; the display name has its own words."""

    code = "too_long"
    message = Message("最多 {limit} 字", "At most {limit} characters")
    display_name = Message("昵称最多 60 字", "Name: at most 60 characters")


class InvalidTrade(ValidationError):
    code = "invalid_trade"
    message = Message("职业类型无效", "Unknown trade")


class InvalidSkills(ValidationError):
    code = "invalid_skills"
    message = Message("技能最多 30 项，每项最多 30 字", "Up to 30 skills of up to 30 characters")


class UnknownCommunity(ValidationError):
    code = "unknown_community"
    message = Message("找不到该社区", "Community not found")


class PersonNotFound(NotFound):
    code = "person_not_found"
    message = Message("找不到该人员", "Person not found")


class TokenNotFound(NotFound):
    code = "token_not_found"
    message = Message("找不到该令牌", "Token not found")
