"""Error codes and messages of the accounts app."""

from yizhan.core.errors import AppError, Message, RateLimited, ValidationError


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
