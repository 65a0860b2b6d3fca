# autostream: the studio on port 7860 by default, the CLI on specs mounted at /work, and workers
# (`autostream worker`: the `distributed` extra is installed too; compose.yaml runs them all).
#   docker build -t autostream .
#   docker run --rm -p 7860:7860 --env-file .env -v autostream-studio:/home/user/studio autostream
#   docker run --rm -v "$PWD:/work" autostream build specs/examples/volcano-script.yaml
# Also a Hugging Face Space (Docker SDK, app_port 7860, uid 1000): see deploy/huggingface/README.md.
# tests/func/test_dockerfile.py runs this file's COPY and pip steps in a clean venv.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng \
 && rm -rf /var/lib/apt/lists/*

# Hugging Face Spaces run the container as uid 1000 with HOME=/home/user
RUN useradd --create-home --uid 1000 user \
 && mkdir -p /home/user/studio /home/user/cache /work \
 && chown user:user /home/user/studio /home/user/cache /work
ENV HOME=/home/user \
    PYTHONUNBUFFERED=1 \
    GRADIO_ANALYTICS_ENABLED=False

# Dependencies first, from pyproject.toml alone: editing the code does not reinstall them
WORKDIR /opt/autostream
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['studio'] + p['optional-dependencies']['distributed'] + p['optional-dependencies']['docs']))" > requirements.txt \
 && pip install --no-cache-dir -r requirements.txt
COPY README.md ./
COPY templates ./templates
COPY autostream_compiler ./autostream_compiler
RUN pip install --no-cache-dir --no-deps .

USER user
WORKDIR /work
EXPOSE 7860
ENTRYPOINT ["autostream"]
CMD ["studio", "--host", "0.0.0.0", "--port", "7860", "--workspace", "/home/user/studio"]
