# Databricks notebook source
# MAGIC %md
# MAGIC ## One day's raw orders -> that day's partition

# COMMAND ----------

import pyspark.sql.functions as F

from dtflw import init_args, init_inputs, init_outputs

day = init_args("date")["date"].value
raw = init_inputs("DayRaw")["DayRaw"].value
out = init_outputs("DayOrders")["DayOrders"].value

# COMMAND ----------

orders = (
    spark.read.option("header", True)
    .schema(
        "order_id INT, order_date DATE, customer_id INT, product_id STRING, product STRING, "
        "quantity INT, unit_price DOUBLE"
    )
    .csv(raw)
    .where(F.col("order_date") == F.lit(day).cast("date"))
    .withColumn("amount", F.col("quantity") * F.col("unit_price"))
)
orders.write.mode("overwrite").parquet(out)
