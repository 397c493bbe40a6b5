-- wrk script: POST the form body given in the BODY environment variable (token + 20-SKU batch).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
