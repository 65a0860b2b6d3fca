# autostream with the system ffmpeg; builds specs mounted at /work.
#   docker build -t autostream .
#   docker run --rm -v "$PWD:/work" autostream build specs/examples/volcano-script.yaml
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/autostream
COPY pyproject.toml README.md ./
COPY autostream_compiler ./autostream_compiler
COPY templates ./templates
RUN pip install --no-cache-dir .
WORKDIR /work
ENTRYPOINT ["autostream"]
