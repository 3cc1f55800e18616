# Databricks notebook source
# MAGIC %md
# MAGIC ## Ingest: raw CSV files -> bronze Delta tables (types applied, source file kept)

# COMMAND ----------

import pyspark.sql.functions as F

from dtflw import init_inputs, init_outputs
from dtflw.storage.dbfs import init_storage

inputs = init_inputs("SalesRaw", "CustomersRaw")
outputs = init_outputs("OrdersBronze", "CustomersBronze")
storage = init_storage(format="delta")

# COMMAND ----------

orders = (
    spark.read.option("header", True)
    .schema(
        "order_id INT, order_date DATE, customer_id INT, product_id STRING, product STRING, "
        "quantity INT, unit_price DOUBLE"
    )
    .csv(inputs["SalesRaw"].value)
    .withColumn("source_file", F.input_file_name())
)
storage.write_table(orders, outputs["OrdersBronze"].value)

customers = (
    spark.read.option("header", True)
    .schema("customer_id INT, name STRING, country STRING")
    .csv(inputs["CustomersRaw"].value)
)
storage.write_table(customers, outputs["CustomersBronze"].value)
print(f"bronze: {orders.count()} order rows, {customers.count()} customers")
