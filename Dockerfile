FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# With DEBUG off, as the containers run: only then are the files hashed and listed in staticfiles.json, which every
# page's {% static %} needs. DEBUG off requires both keys; these placeholders live for this one command (collectstatic
# signs and encrypts nothing, and runs only the staticfiles checks), never in the image's environment.
RUN DEBUG=false SECRET_KEY=build-only-collectstatic SCREENING_ENCRYPTION_KEYS=build-only-collectstatic \
    python manage.py collectstatic --noinput
RUN useradd --create-home clinic && chown -R clinic /app
USER clinic
EXPOSE 8000
CMD ["gunicorn", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
