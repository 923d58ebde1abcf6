"""The site's logging for the baseline (LOGGING_CONFIG), as tweetup.settings sets it up."""

import logging.config


def configure(options: dict) -> None:
    from tweetup import logs

    logs.configure_structlog()
    logging.config.dictConfig(
        logs.logging_config(
            log_format=options["log_format"], level=options["level"], mail_admins=True
        )
    )
