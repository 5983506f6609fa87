"""Pointing the real simple-salesforce client at the sandbox, as the README tells users to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import certifi
import pytest
from simple_salesforce import Salesforce

if TYPE_CHECKING:  # imported for the annotation only: pytest loads the module as a plugin
    from tests.sandbox.conftest_salesforce import SalesforceSandbox

pytest_plugins = ["tests.sandbox.conftest_salesforce"]


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_sandbox_session_trusts_the_sandbox_ca_whatever_the_environment_says(
    salesforce: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # requests lets these variables override session.verify; with the public CA bundle in them a
    # plain session would refuse the sandbox's throw-away CA.
    monkeypatch.setenv(variable, certifi.where())
    demo = salesforce.demo()
    sf = Salesforce(
        username=demo["username"],
        password=demo["password"],
        security_token=demo["security_token"],
        session=salesforce.session(),
    )
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
