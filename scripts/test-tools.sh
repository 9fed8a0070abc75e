#!/usr/bin/env bash
# Install the tools the test suite runs besides Python, where they are missing:
#  - espeak-ng (Debian package), which speaks the loudspeaker text;
#  - Prism (@stoplight/prism-cli from npm, into .tools/), which checks the SMS adapter's
#    requests against Twilio's published OpenAPI file;
#  - docker-compose (Debian package), which checks docker-compose.yml (no engine needed);
#  - Chromium and the Noto CJK fonts (Debian packages) for the browser tests, driven by
#    Playwright for Python (installed with the test extra; never `playwright install`).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v espeak-ng >/dev/null 2>&1; then
  echo "tools: espeak-ng present"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "tools: installing espeak-ng"
  apt-get install -y --no-install-recommends espeak-ng >/dev/null
else
  echo "tools: espeak-ng is missing (apt-get install espeak-ng); the speech tests will fail" >&2
fi

if command -v docker-compose >/dev/null 2>&1; then
  echo "tools: docker-compose present"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "tools: installing docker-compose"
  apt-get install -y --no-install-recommends docker-compose >/dev/null
else
  echo "tools: docker-compose is missing (apt-get install docker-compose); the compose test" \
       "will fail" >&2
fi

if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "tools: chromium and fonts-noto-cjk present"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "tools: installing chromium and fonts-noto-cjk"
  apt-get install -y --no-install-recommends chromium fonts-noto-cjk >/dev/null
else
  echo "tools: chromium or fonts-noto-cjk is missing (apt-get install chromium fonts-noto-cjk);" \
       "the browser tests will fail" >&2
fi

if [ -x .tools/node_modules/.bin/prism ]; then
  echo "tools: prism present"
elif command -v npm >/dev/null 2>&1; then
  echo "tools: installing @stoplight/prism-cli@5 into .tools/"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools \
    @stoplight/prism-cli@5 >/dev/null
else
  echo "tools: npm is missing (install Node.js 18+); the Twilio contract test will fail" >&2
fi
