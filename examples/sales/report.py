# Databricks notebook source
# MAGIC %md
# MAGIC ## Report: a one-line summary returned to the driver

# COMMAND ----------

from dtflw import init_inputs

tables = init_inputs("RevenueByMonth", "TopCustomers")
revenue = spark.read.format("delta").load(tables["RevenueByMonth"].value)
top = spark.read.format("delta").load(tables["TopCustomers"].value)
total = revenue.agg({"revenue": "sum"}).first()[0]
best = top.orderBy("revenue", ascending=False).first()
display(top)
dbutils.notebook.exit(
    f"revenue {total:.2f} over {revenue.count()} months; best customer {best.customer_id} ({best.revenue:.2f})"
)
