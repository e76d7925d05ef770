"""The OpenAPI document: valid, complete, in step with the routes and docs/api.md,
and obeyed: schemathesis (its Python API) sends generated requests, valid and
invalid, to a live pool over real HTTP and checks every answer against the
document (status code documented, content type, response schema, headers,
no server error, invalid input refused)."""
import importlib.util
from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from gxcpoold.web.api import Shaper
from gxcpoold.web.openapi import build_document, document_for, render_docs
from tests.web.test_api import A, B, fill
from tests.web.webpool import WebPool

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python docs/make_api_reference.py > docs/api.md"
# Routes of other modules under /api/ (their own contracts: text/event-stream)
NOT_JSON = {"/api/events"}
EXAMPLES = 12            # generated requests per operation and mode: seconds in all


class Document(unittest.TestCase):
    def test_valid_for_every_network_and_address_check(self):
        for network in ("testnet", "mainnet"):
            for lenient in (False, True):
                validate(build_document(network, lenient))

    def test_every_object_is_closed_and_fully_described(self):
        document = build_document()
        for name, schema in document["components"]["schemas"].items():
            self.assertEqual(schema["type"], "object", name)
            self.assertIs(schema["additionalProperties"], False, name)
            self.assertEqual(schema["required"], list(schema["properties"]), name)
            for field, sub in schema["properties"].items():
                self.assertTrue(sub.get("description"), "%s.%s has no description"
                                % (name, field))
                if field.endswith("_gxc"):
                    amount = schema["properties"][field[:-4]]
                    self.assertIn("integer", amount["type"], "%s.%s" % (name, field[:-4]))
                    self.assertIn("pattern", sub)

    def test_every_operation_documents_its_errors(self):
        for path, item in build_document()["paths"].items():
            responses = item["get"]["responses"]
            self.assertIn("200", responses, path)
            self.assertIn("429", responses, path)
            if item["get"]["parameters"]:
                self.assertIn("400", responses, path)
        responses = build_document()["paths"]["/api/miners/{address}"]["get"]["responses"]
        self.assertIn("404", responses)
        self.assertIn("503", build_document()["paths"]["/api/health"]["get"]["responses"])

    def test_docs_api_md_is_generated_from_it(self):
        spec = importlib.util.spec_from_file_location(
            "make_api_reference", ROOT / "docs" / "make_api_reference.py")
        generator = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generator)
        expected = generator.render(build_document())
        actual = (ROOT / "docs" / "api.md").read_text()
        self.assertEqual(actual, expected, "docs/api.md is stale; run: " + REGENERATE)

    def test_the_docs_page_is_escaped_and_script_free(self):
        document = build_document()
        document["info"]["description"] = "<script>alert(1)</script>"
        page = render_docs(document)
        self.assertNotIn("<script>", page)
        self.assertIn("&lt;script&gt;", page)

    def test_choices_are_the_read_model_s(self):
        from gxcpoold.ledger import queries
        from gxcpoold.web import openapi
        self.assertEqual(openapi.WINDOWS, tuple(queries.WINDOWS))
        self.assertEqual(openapi.LEADERBOARD_BY, queries.LEADERBOARD_ORDERS)

    def test_shaper_refuses_a_missing_field(self):
        shape = Shaper(build_document())
        with self.assertRaises(KeyError):
            shape("Owed", {"immature": 1, "mature": 2, "pending": 3})


class Routes(unittest.TestCase):
    async def test_documented_paths_are_the_served_paths(self):
        pool = await WebPool.start(self)
        served = set()
        for rule in pool.web.app.url_map.iter_rules():
            path = rule.rule.replace("<address>", "{address}")
            if path.startswith("/api/") and path not in NOT_JSON:
                served.add(path)
        self.assertEqual(served, set(document_for(pool.config)["paths"]))


class Conformance(unittest.TestCase):
    """schemathesis against the live pool, in a thread while the reactor serves."""

    timeout = 240

    async def test_every_answer_matches_the_document(self):
        pool = await WebPool.start(self)
        await fill(pool)
        document = document_for(pool.config)
        schema = schemathesis.openapi.from_dict(document)
        base_url = pool.url("")
        known = {"address": [A, B]}
        report = await deferToThread(run_schemathesis, schema, base_url, known)
        self.assertEqual(report["failures"], [], "\n".join(report["failures"]))
        # every operation was exercised in both modes, and the real data was reached
        expected = {(path, "positive") for path in document["paths"]}
        expected |= {(path, "negative") for path, item in document["paths"].items()
                     if item["get"]["parameters"]}
        self.assertEqual(set(report["calls"]), expected)
        self.assertIn(200, report["statuses"]["/api/miners/{address}"])
        self.assertIn(400, report["statuses"]["/api/blocks"])

    async def test_health_503_matches_the_document(self):
        pool = await WebPool.start(self, connect_node=False)
        schema = schemathesis.openapi.from_dict(document_for(pool.config))
        operation = schema["/api/health"]["GET"]

        def call():
            case = operation.Case()
            response = case.call(base_url=pool.url(""))
            # 503 is this operation's documented answer, not a server fault
            case.validate_response(response, excluded_checks=[not_a_server_error])
            return response.status_code
        self.assertEqual(await deferToThread(call), 503)


def run_schemathesis(schema, base_url, known):
    """Generated requests for every operation, positive then negative; returns
    {"failures": [text], "calls": {(path, mode): n}, "statuses": {path: {code}}}."""
    failures, calls, statuses = [], {}, {}
    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if operation.definition.raw.get("parameters"):
            modes.append(GenerationMode.NEGATIVE)      # nothing to get wrong otherwise
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)
            if mode is GenerationMode.POSITIVE and "{address}" in operation.path:
                # half the positive cases name miners the ledger knows (200, not only 404)
                strategy = hypothesis.strategies.one_of(strategy, *[
                    operation.as_strategy(path_parameters={"address": a})
                    for a in known["address"]])

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck),
                      phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
            @hypothesis.given(case=strategy)
            def check(case):
                key = (operation.path, mode.value)
                calls[key] = calls.get(key, 0) + 1
                response = case.call(base_url=base_url, timeout=10)
                statuses.setdefault(operation.path, set()).add(response.status_code)
                case.validate_response(response, excluded_checks=excluded)
            # /api/health answers 503 by design when the pool cannot take shares
            excluded = [not_a_server_error] if operation.path == "/api/health" else []
            try:
                check()
            except Exception as e:          # a failed check: collected, reported at once
                failures.append("%s %s (%s): %s" % (operation.method.upper(), operation.path,
                                                   mode.value, e))
    return {"failures": failures, "calls": calls, "statuses": statuses}

